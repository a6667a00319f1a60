// Whether tsvmm does what a (schema-valid) config asks. The schema marks each
// Cloud Hypervisor field tsvmm has not implemented (`x-tsvmm` in schema.ts);
// this walks a body along its schema and names every such field that is set
// to something other than its default, so a Cloud Hypervisor body at its
// defaults is accepted and one that asks for more is refused field by field.
import { Kind, type TSchema } from '@sinclair/typebox';
import { ConfigError } from '../util/errors.js';
import { SUPPORT_KEYWORD, type Support } from './schema.js';

type Schemas = ReadonlyMap<string, TSchema>;

export function schemaMap(schemas: readonly TSchema[]): Schemas {
  return new Map(schemas.map((schema) => [schema.$id as string, schema]));
}

function resolve(schema: TSchema, schemas: Schemas): TSchema {
  if (schema[Kind] === 'Ref' || (schema[Kind] === 'Unsafe' && typeof schema.$ref === 'string')) {
    const target = schemas.get(schema.$ref as string);
    if (!target) throw new Error(`schema ${String(schema.$ref)} is not registered`);
    return target;
  }
  return schema;
}

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function refusal(path: string, value: unknown, schema: TSchema): string | undefined {
  const support = schema[SUPPORT_KEYWORD] as Support | undefined;
  if (support === undefined || isUnset(value)) return undefined;
  if (support === 'default-only' && sameJson(value, schema.default)) return undefined;
  const only = support === 'default-only' ? ` (only ${JSON.stringify(schema.default)})` : '';
  return `${path}: ${JSON.stringify(value)} is not supported by tsvmm${only}`;
}

/** Every refusal in `value`, a body that already matched `schema`. */
export function unsupportedFields(value: unknown, schema: TSchema, schemas: Schemas, path = ''): string[] {
  const resolved = resolve(schema, schemas);
  if (Array.isArray(value) && resolved.items) {
    return value.flatMap((item, i) => unsupportedFields(item, resolved.items as TSchema, schemas, `${path}[${i}]`));
  }
  if (value === null || typeof value !== 'object' || !resolved.properties) return [];
  const found: string[] = [];
  for (const [key, field] of Object.entries(resolved.properties as Record<string, TSchema>)) {
    const fieldValue = (value as Record<string, unknown>)[key];
    const fieldPath = path === '' ? key : `${path}.${key}`;
    const refused = refusal(fieldPath, fieldValue, field);
    if (refused) found.push(refused);
    else if (fieldValue !== undefined && fieldValue !== null) found.push(...unsupportedFields(fieldValue, field, schemas, fieldPath));
  }
  return found;
}

/** Throws a 400 naming the first field tsvmm cannot honour, with all of them as causes. */
export function checkSupported(value: unknown, schema: TSchema, schemas: Schemas, path = ''): void {
  const refused = unsupportedFields(value, schema, schemas, path);
  if (refused.length > 0) throw new ConfigError(refused[0] as string, { code: 'UnsupportedField', causes: refused });
}
