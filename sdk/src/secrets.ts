import { currentContext } from './context.js';
import { ConnectionNotFound, VariableNotFound } from './errors.js';

/**
 * A connection as a task reads it with `connection(id)`: how to reach an external system,
 * password included. Its password, any extra field with a sensitive name, and the fields its
 * connection type marks `secret` are masked as `***` in the try's logs.
 */
export interface TaskConnection {
  id: string;
  /** The kind of system: `postgres`, `http`… (Airflow's conn_type). */
  type: string;
  host: string | null;
  port: number | null;
  login: string | null;
  password: string | null;
  /** The database or schema. */
  schema: string | null;
  /** Extra settings, a JSON object (`{}` when none). */
  extra: Record<string, unknown>;
}

/**
 * @internal How the running task's context reaches its worker for variables and connections
 * (a symbol shared by every copy of the SDK: each bundle has its own). `undefined`: not found.
 */
export const SECRETS_ACCESS: symbol = Symbol.for('@updraft/sdk/secrets');

/** @internal What the worker puts under SECRETS_ACCESS in a task's context. */
export interface SecretsAccess {
  variable(key: string): Promise<string | undefined>;
  /** `secretFields`: the secret fields of the connection types known here (see `secretFieldsByType`), masked by the worker before it answers. */
  connection(id: string, options?: { secretFields?: SecretFieldsByType }): Promise<TaskConnection | undefined>;
}

/**
 * @internal The fields connection types mark secret, by type: `host`, `login`… or
 * `extra.<key>` for a field of `extra`. The password is always secret and not listed.
 */
export type SecretFieldsByType = Record<string, string[]>;

/** Where every copy of the SDK in a process records the secret fields of the connection types defined in it. */
const SECRET_FIELDS: symbol = Symbol.for('@updraft/sdk/connectionSecretFields');

function secretFieldRegistry(): Map<string, Set<string>> {
  const global = globalThis as unknown as Record<symbol, Map<string, Set<string>> | undefined>;
  return (global[SECRET_FIELDS] ??= new Map());
}

/**
 * @internal Records that connections of `type` hold secrets in `fields` (`defineConnectionType`
 * calls it). Two definitions of one type in a process add up: a field either marks secret is masked.
 */
export function registerSecretFields(type: string, fields: string[]): void {
  if (fields.length === 0) return;
  const registry = secretFieldRegistry();
  const known = registry.get(type) ?? new Set<string>();
  for (const field of fields) known.add(field);
  registry.set(type, known);
}

/** @internal The secret fields of every connection type defined in this process (by any copy of the SDK). */
export function secretFieldsByType(): SecretFieldsByType | undefined {
  const registry = secretFieldRegistry();
  return registry.size === 0 ? undefined : Object.fromEntries([...registry].map(([type, fields]) => [type, [...fields]]));
}

/**
 * The value of the variable `key`, read when the task runs (Airflow's `Variable.get`). A
 * variable that does not exist throws `VariableNotFound`, unless `options.default` is given,
 * which is returned instead. A secret variable's value is masked as `***` in the try's logs.
 * Reads are cached for the rest of the try: calling it in a loop costs one lookup.
 *
 * ```ts
 * const region = await variable('region', { default: 'eu-west-1' });
 * const token = await variable('slack_token');
 * ```
 */
export async function variable(key: string): Promise<string>;
export async function variable<D>(key: string, options: { default: D }): Promise<string | D>;
export async function variable(key: string, options?: { default: unknown }): Promise<unknown> {
  if (typeof key !== 'string') throw new TypeError(`variable(key): key must be a string, got ${key === null ? 'null' : typeof key}`);
  const value = await access('variable()').variable(key);
  if (value !== undefined) return value;
  if (options !== undefined && 'default' in options) return options.default;
  throw new VariableNotFound(`Variable "${key}" does not exist: set it (the setVariable mutation), or give a default: variable("${key}", { default: … })`);
}

/**
 * The connection `id` with its password, read when the task runs (Airflow's
 * `BaseHook.get_connection`): from the workers' environment variable `UPDRAFT_CONN_<ID>`
 * (a URI) when it is set, else as stored (the upsertConnection mutation). One that exists in
 * neither throws `ConnectionNotFound`. Cached for the rest of the try. Its password, extra
 * fields with sensitive names, and the fields its connection type (`defineConnectionType`,
 * if one of its type is defined in the task's code) marks secret are masked in the try's logs.
 */
export async function connection(id: string): Promise<TaskConnection> {
  if (typeof id !== 'string') throw new TypeError(`connection(id): id must be a string, got ${id === null ? 'null' : typeof id}`);
  const secretFields = secretFieldsByType();
  const found = await access('connection()').connection(id, secretFields ? { secretFields } : undefined);
  if (found !== undefined) return found;
  throw new ConnectionNotFound(
    `Connection "${id}" does not exist: create it (the upsertConnection mutation), or set UPDRAFT_CONN_${id.toUpperCase()} to its URI on the workers`,
  );
}

function access(what: string): SecretsAccess {
  const ctx = currentContext(what) as unknown as Record<symbol, SecretsAccess | undefined>;
  const found = ctx[SECRETS_ACCESS];
  if (!found) throw new Error(`${what} is not available in this context: the worker running the task does not serve variables and connections`);
  return found;
}
