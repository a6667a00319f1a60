// Turns a request body, from any frontend, into the value an action works on:
// null read as absent (as Cloud Hypervisor's serde reads an Option), the
// schema checked, what tsvmm does not implement refused by name, and every
// default filled in. The control loop runs this for every action with a body.
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from '../util/errors.js';
import { CONFIG_SCHEMAS } from './schema.js';
import { checkSupported, schemaMap } from './support.js';

const schemas = schemaMap(CONFIG_SCHEMAS);
const compiled = new Map<TSchema, TypeCheck<TSchema>>();

function validator(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema, [...CONFIG_SCHEMAS]);
    compiled.set(schema, check);
  }
  return check;
}

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
  const check = validator(schema);
  if (!check.Check(value)) {
    const causes = [...check.Errors(value)].map((error) => `${describePath(error.path)}: ${error.message}`);
    throw new ConfigError(`invalid ${what} body: ${causes[0] ?? 'does not match the schema'}`, { code: 'InvalidBody', causes });
  }
  checkSupported(value, schema, schemas);
  return Value.Default(schema, [...CONFIG_SCHEMAS], value) as T;
}
