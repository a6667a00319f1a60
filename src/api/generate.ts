// `npm run generate`: writes the OpenAPI document and the client types.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiText, openApiTypesText } from './openapi.js';

export const OPENAPI_PATH = fileURLToPath(new URL('../../../openapi/tsvmm.json', import.meta.url));
export const TYPES_PATH = fileURLToPath(new URL('../../../src/api/generated/openapi-types.ts', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, openApiText());
  writeFileSync(TYPES_PATH, await openApiTypesText());
  process.stdout.write(`wrote ${OPENAPI_PATH}\nwrote ${TYPES_PATH}\n`);
}
