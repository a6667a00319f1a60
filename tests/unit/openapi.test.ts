// openapi/ and the generated client types must match the schemas they are
// generated from; `npm run generate` refreshes them.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { OPENAPI_PATH, TYPES_PATH } from '../../src/api/generate.js';
import { buildOpenApiDocument, openApiText, openApiTypesText } from '../../src/api/openapi.js';
import { ACTIONS } from '../../src/vmm/actions.js';

t.test('openapi/tsvmm.json is up to date', async (t) => {
  t.equal(readFileSync(OPENAPI_PATH, 'utf8'), openApiText(), 'run `npm run generate`');
});

t.test('src/api/generated/openapi-types.ts is up to date', async (t) => {
  t.equal(readFileSync(TYPES_PATH, 'utf8'), await openApiTypesText(), 'run `npm run generate`');
});

t.test('every action has a path with its method', async (t) => {
  const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
  for (const [name, spec] of Object.entries(ACTIONS)) {
    t.ok(document.paths[`/${name}`]?.[spec.method.toLowerCase()], name);
  }
  t.ok(document.paths['/vmm.events']?.get, 'and the event stream');
  t.equal(Object.keys(document.paths).length, Object.keys(ACTIONS).length + 1);
});
