import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { badInput } from '../errors.js';

// One validator for every DAG's params schema (draft 2020-12, what zod's toJSONSchema
// emits): defaults fill missing fields, as Airflow's params do.
const ajv = new Ajv2020({ useDefaults: true, allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

/** Why `schema` is not a usable params schema, or null when it is one. */
export function paramsSchemaProblem(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'must be a JSON Schema object';
  if ((schema as { type?: unknown }).type !== 'object') return 'must describe an object (the run conf), e.g. z.object({ ... })';
  try {
    ajv.compile(schema);
    return null;
  } catch (e) {
    return `is not a valid JSON Schema: ${(e as Error).message}`;
  }
}

/**
 * A run's params: `conf` checked against the DAG's params schema, with its defaults
 * filled in. Throws BAD_USER_INPUT naming every field that is wrong.
 */
export function resolveParams(dagId: string, schema: object, conf: Record<string, unknown>): Record<string, unknown> {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  const params = structuredClone(conf);
  if (!validate(params)) {
    throw badInput(`conf does not match the params of DAG "${dagId}": ${(validate.errors ?? []).map(describe).sort().join('; ')}`);
  }
  return params;
}

function describe(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (error.keyword === 'required') path.push(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties') path.push(String((error.params as { additionalProperty: string }).additionalProperty));
  const field = path.length > 0 ? `conf.${path.join('.')}` : 'conf';
  const message = error.keyword === 'required' ? 'is required' : error.keyword === 'additionalProperties' ? 'is not a known param' : error.message;
  return `${field} ${message}`;
}
