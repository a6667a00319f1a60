// Turns a request body, from any frontend, into the value an action works on:
// null read as absent (as Cloud Hypervisor's serde reads an Option), the
// schema checked, what tsvmm does not implement refused by name, and every
// default filled in. The control loop runs this for every action with a body.
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../util/errors.js';
import { CONFIG_SCHEMAS } from './schema.js';
import { checkSupported, schemaMap } from './support.js';

const schemas = schemaMap(CONFIG_SCHEMAS);
const references = [...CONFIG_SCHEMAS];

/** No config nests deeper; a hostile body that does is refused before anything recurses through it. */
const MAX_DEPTH = 16;

/** A copy of `value` without the object keys whose value is null. */
export function dropNulls(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) throw new ConfigError(`the body nests deeper than ${MAX_DEPTH} levels`, { code: 'InvalidBody' });
  if (Array.isArray(value)) return value.map((item) => dropNulls(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = dropNulls(field, depth + 1);
  return out;
}

function describePath(path: string): string {
  return path === '' ? 'the body' : path.slice(1).replaceAll('/', '.');
}

/** The checked body with defaults filled in; a ConfigError (400) names what is wrong. */
export function acceptBody<T>(what: string, schema: TSchema, body: unknown): T {
  const value = dropNulls(body);
  // Checked by walking the schema, not by TypeCompiler: a body is checked once
  // (vm.create, vm.add-disk...), and compiling its checker costs 5 ms more at
  // start-up than the walk (issue 18).
  if (!Value.Check(schema, references, value)) {
    const causes = [...Value.Errors(schema, references, value)].map((error) => `${describePath(error.path)}: ${error.message}`);
    throw new ConfigError(`invalid ${what} body: ${causes[0] ?? 'does not match the schema'}`, { code: 'InvalidBody', causes });
  }
  checkSupported(value, schema, schemas);
  return Value.Default(schema, references, value) as T;
}
