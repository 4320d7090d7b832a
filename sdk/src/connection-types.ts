// Connection types: what a kind of connection (postgres, http, smtp…) holds, which of its fields
// are secret, and how to check that one works (the testConnection mutation runs it).
import { connection, registerSecretFields, type TaskConnection } from './secrets.js';

const CONNECTION_TYPE = Symbol.for('@updraft/sdk/ConnectionType');

/** One field of a connection type, as a form shows it. */
export interface ConnectionField {
  /** What a form calls it (`Database`, `User`). */
  label: string;
  description?: string;
  /** `get()` fails when it is missing. */
  required?: boolean;
  /** Hidden in forms and masked in logs (the password always is). */
  secret?: boolean;
}

/** The standard fields of a connection (see `TaskConnection`) a type uses, and its extra fields. */
export interface ConnectionFields {
  host?: ConnectionField;
  port?: ConnectionField;
  login?: ConnectionField;
  password?: Omit<ConnectionField, 'secret'>;
  schema?: ConnectionField;
  /** Fields kept in the connection's `extra` JSON object, by key. */
  extra?: Record<string, ConnectionField>;
}

/** What a connection test reports; throwing (or `ok: false`) says the connection does not work. */
export interface ConnectionTestResult {
  ok: boolean;
  /** What was checked or what went wrong, e.g. `connected to PostgreSQL 18.1`. Never the password. */
  message: string;
}

/** What `defineConnectionType` takes. */
export interface ConnectionTypeDefinition {
  /** The `type` of the connections it describes (Airflow's conn_type): `postgres`, `http`, `smtp`. */
  type: string;
  /** A human name: `PostgreSQL`. */
  label?: string;
  description?: string;
  fields: ConnectionFields;
  /** The port to use when a connection has none. */
  defaultPort?: number;
  /**
   * Checks that a connection works (connects, logs in, runs a no-op), within `signal`: the
   * platform aborts it after its time limit. Runs in a child process without database credentials.
   */
  test?(connection: TaskConnection, options: { signal: AbortSignal }): Promise<ConnectionTestResult | string | void>;
}

/** What the platform lists about a connection type. */
export interface ConnectionTypeInfo {
  type: string;
  label: string;
  description: string | null;
  fields: Array<{ name: string; label: string; description: string | null; required: boolean; secret: boolean; extra: boolean }>;
  testable: boolean;
}

/** A connection type: its description, its test, and `get(id)` for operators. */
export interface ConnectionType {
  readonly connectionType: ConnectionTypeInfo;
  readonly definition: ConnectionTypeDefinition;
  /**
   * The connection `id` (see `connection()`), checked to be of this type with its required
   * fields, and with `port` defaulted. Call it inside a running task.
   */
  get(id: string): Promise<TaskConnection>;
  /** `conn` checked as `get()` does: a list of what is wrong, empty when nothing is. */
  problems(conn: TaskConnection): string[];
}

const TYPE = /^[a-z][a-z0-9_-]{0,99}$/;
const STANDARD = ['host', 'port', 'login', 'password', 'schema'] as const;

/**
 * Defines a connection type (Airflow's hook `conn_type` with its form fields and
 * `test_connection`). Export it from a plugin package, beside the operators that use it.
 *
 * ```ts
 * export const postgres = defineConnectionType({
 *   type: 'postgres', label: 'PostgreSQL', defaultPort: 5432,
 *   fields: { host: { label: 'Host', required: true }, login: { label: 'User' }, password: { label: 'Password' }, schema: { label: 'Database' } },
 *   test: async (conn) => { ...; return { ok: true, message: 'connected' }; },
 * });
 * ```
 */
export function defineConnectionType(definition: ConnectionTypeDefinition): ConnectionType {
  if (typeof definition.type !== 'string' || !TYPE.test(definition.type)) {
    throw new TypeError(`defineConnectionType(): type must be lowercase letters, digits, _ or - (at most 100), got ${JSON.stringify(definition.type)}`);
  }
  const fields: ConnectionTypeInfo['fields'] = [];
  for (const name of STANDARD) {
    const field = definition.fields[name];
    if (field) fields.push({ name, label: field.label, description: field.description ?? null, required: field.required ?? false, secret: name === 'password' || ('secret' in field && field.secret === true), extra: false });
  }
  for (const [name, field] of Object.entries(definition.fields.extra ?? {})) {
    fields.push({ name, label: field.label, description: field.description ?? null, required: field.required ?? false, secret: field.secret ?? false, extra: true });
  }
  // The worker masks these fields' values in the logs of any try that reads a connection of this type.
  registerSecretFields(
    definition.type,
    fields.filter((f) => f.secret && f.name !== 'password').map((f) => (f.extra ? `extra.${f.name}` : f.name)),
  );
  const info: ConnectionTypeInfo = {
    type: definition.type,
    label: definition.label ?? definition.type,
    description: definition.description ?? null,
    fields,
    testable: typeof definition.test === 'function',
  };
  const problems = (conn: TaskConnection): string[] => {
    const found: string[] = [];
    if (conn.type !== definition.type) found.push(`it is of type "${conn.type}", not "${definition.type}"`);
    for (const field of fields) {
      if (!field.required) continue;
      const value = field.extra ? conn.extra[field.name] : conn[field.name as (typeof STANDARD)[number]];
      if (value === null || value === undefined || value === '') found.push(`${field.extra ? `extra.${field.name}` : field.name} (${field.label}) is required`);
    }
    return found;
  };
  const type: ConnectionType = {
    connectionType: info,
    definition,
    problems,
    async get(id) {
      const conn = await connection(id);
      const wrong = problems(conn);
      if (wrong.length > 0) throw new TypeError(`Connection "${id}" cannot be used as a ${info.label} connection: ${wrong.join('; ')}`);
      return { ...conn, port: conn.port ?? definition.defaultPort ?? null };
    },
  };
  Object.defineProperty(type, CONNECTION_TYPE, { value: true });
  return type;
}

/** Whether `value` was made by `defineConnectionType` (of any copy of the SDK). */
export function isConnectionType(value: unknown): value is ConnectionType {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CONNECTION_TYPE] === true;
}

/** A test's outcome in one form: whatever `test` returned or threw. */
export async function runConnectionTest(type: ConnectionType, conn: TaskConnection, signal: AbortSignal): Promise<ConnectionTestResult> {
  if (!type.definition.test) return { ok: false, message: `Connection type "${type.connectionType.type}" has no test` };
  const wrong = type.problems(conn);
  if (wrong.length > 0) return { ok: false, message: wrong.join('; ') };
  try {
    const result = await type.definition.test({ ...conn, port: conn.port ?? type.definition.defaultPort ?? null }, { signal });
    if (result === undefined) return { ok: true, message: 'ok' };
    if (typeof result === 'string') return { ok: true, message: result };
    return { ok: result.ok === true, message: String(result.message ?? '') };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? `${e.name.toLowerCase() === 'error' ? '' : `${e.name}: `}${e.message}` : String(e) };
  }
}
