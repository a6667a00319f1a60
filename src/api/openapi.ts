// Builds the OpenAPI 3.1 document of the REST API from the action table and
// the TypeBox schemas, and the client types from that document. Both are
// checked in (openapi/tsvmm.json, src/api/generated/openapi-types.ts); a test
// fails when either is stale. Regenerate with `npm run generate`.
import type { TSchema } from '@sinclair/typebox';
import { VERSION } from '../version.js';
import { ACTIONS } from '../vmm/actions.js';
import { MAX_UNREAD_BYTES } from './event-stream.js';
import { EVENT_STREAM_ACTION } from './paths.js';
import { COMPONENT_SCHEMAS, ErrorBodySchema, EventRecordSchema } from './schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const REF_PREFIX = '#/components/schemas/';

/** TypeBox JSON -> OpenAPI 3.1 JSON: component refs, enums for literal unions, no $id. */
function toOpenApi(node: Json): Json {
  if (Array.isArray(node)) return node.map(toOpenApi);
  if (node === null || typeof node !== 'object') return node;
  const literals = Array.isArray(node.anyOf) && node.anyOf.every((m) => typeof m === 'object' && m !== null && !Array.isArray(m) && 'const' in m)
    ? (node.anyOf as Array<{ const: Json }>).map((m) => m.const)
    : undefined;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id' || (literals && key === 'anyOf')) continue;
    out[key] = key === '$ref' && typeof value === 'string' ? `${REF_PREFIX}${value}` : toOpenApi(value);
  }
  if (literals) return { ...out, type: 'string', enum: literals };
  return out;
}

function schemaJson(schema: TSchema): Json {
  return toOpenApi(JSON.parse(JSON.stringify(schema)) as Json);
}

function ref(schema: TSchema): Json {
  return { $ref: `${REF_PREFIX}${schema.$id as string}` };
}

const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref(ErrorBodySchema) } },
});

export function buildOpenApiDocument(): Json {
  const paths: { [key: string]: Json } = {};
  for (const [name, spec] of Object.entries(ACTIONS)) {
    const request = (spec as { request?: TSchema }).request;
    const response = (spec as { response?: TSchema }).response;
    const responses: { [key: string]: Json } = response
      ? { 200: { description: 'Success', content: { 'application/json': { schema: ref(response) } } } }
      : { 204: { description: 'Success, no body' } };
    responses['400'] = errorResponse('Malformed JSON, a body that does not match the schema or asks for what tsvmm does not implement (the field is named), or a body on an action that takes none');
    responses['404'] = errorResponse('Unknown path, or no VM is created');
    responses['405'] = errorResponse('Wrong method; the Allow header names the right one');
    responses['409'] = errorResponse('The VM state forbids this action, or a device id is already in use');
    if (request) responses['413'] = errorResponse('Request body over 64 KiB');
    responses['500'] = errorResponse('Internal failure');
    if (name === 'vm.power-button' || name === 'vm.add-disk') responses['501'] = errorResponse('Not supported yet');
    paths[`/${name}`] = {
      [spec.method.toLowerCase()]: {
        summary: spec.summary,
        operationId: name,
        ...(request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(request) } } } } : {}),
        responses,
      },
    };
  }
  paths[`/${EVENT_STREAM_ACTION}`] = {
    get: {
      summary: 'Follow the events as they happen: one EventRecord per line, until the VMM shuts down',
      operationId: EVENT_STREAM_ACTION,
      responses: {
        200: {
          description: 'A chunked stream of newline-delimited JSON that stays open. A listener that leaves '
            + `${MAX_UNREAD_BYTES / 1024} KiB unread is dropped after a last line with event "error"`,
          content: { 'application/x-ndjson': { schema: ref(EventRecordSchema) } },
        },
        405: errorResponse('Wrong method; the Allow header names the right one'),
      },
    },
  };
  const schemas: { [key: string]: Json } = {};
  for (const schema of COMPONENT_SCHEMAS) schemas[schema.$id as string] = schemaJson(schema);
  return {
    openapi: '3.1.0',
    info: {
      title: 'tsvmm API',
      description: 'The REST API of tsvmm on its UNIX socket; paths and payloads follow Cloud Hypervisor v53.0. '
        + 'x-tsvmm on a field: default-only (accepted at its default only) or unsupported (accepted only absent, null or empty).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      version: VERSION,
    },
    servers: [{ url: 'http://localhost/api/v1' }],
    paths,
    components: { schemas },
  };
}

export function openApiText(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

/** TypeScript types for clients, generated from the document by openapi-typescript. */
export async function openApiTypesText(): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  // Fields with a default are optional in requests; without this they would be typed as required.
  const ast = await openapiTS(JSON.parse(openApiText()) as Parameters<typeof openapiTS>[0], { defaultNonNullable: false });
  return `// Generated from openapi/tsvmm.json by \`npm run generate\`; do not edit.\n${astToString(ast)}`;
}
