// Variables and connections for running tries. Task code asks with `variable(key)` /
// `connection(id)` (@updraft/sdk): an isolated task's process sends a `lookup` message over
// its IPC channel (task-processes.ts), an `isolation: 'none'` task calls the same function
// directly. The worker reads and decrypts (task processes hold neither database credentials
// nor the secret key), caches the answer for the rest of the try, and remembers every secret
// value it handed out, so that the try's masker replaces it in what the try leaves behind.
import type { Pool } from 'pg';
import type { SecretFieldsByType, SecretsAccess, TaskConnection } from '@updraft/sdk';
import { retryWhileDatabaseFails } from '../db/retry.js';
import { coerceError } from '../errors.js';
import { connectionVariable, parseConnectionText } from '../secrets/connection-uri.js';
import { openExtra, openPassword } from '../secrets/connections.js';
import { connectionIdProblem, variableKeyProblem } from '../secrets/input.js';
import { NoSecretKey, SecretUnreadable, type SecretKeySource } from '../secrets/key.js';
import { SecretMasker } from '../secrets/masking.js';
import { variableContext } from '../secrets/variables.js';
import { sql } from './sql.js';
import { outsideTaskConsole } from './task-console.js';

/** Different variables and connections one try may ask for; past it, lookups fail (a task asking in a loop costs one query per name). */
export const MAX_LOOKUPS_PER_TRY = 1_000;

/** What task code asks its worker for. */
export interface SecretRequest {
  kind: 'variable' | 'connection';
  name: string;
  /**
   * With a connection: the secret fields of the connection types the task's code defines
   * (`defineConnectionType`), by type. Those of the connection's type are masked before the
   * answer is sent, like its password (whether or not the answer was cached).
   */
  secretFields?: SecretFieldsByType;
}

/** Bounds of `secretFields` (the SDK sends those of the types a DAG's code defines: a handful). */
const MAX_SECRET_FIELD_TYPES = 1_000;
const MAX_SECRET_FIELDS = 1_000;
const MAX_FIELD_NAME = 200;
const STANDARD_FIELDS = new Set(['host', 'port', 'login', 'password', 'schema']);

/** The worker's answer: plain data, since it crosses into the task's process. */
export type SecretReply =
  | { ok: true; found: false }
  | { ok: true; found: true; value: string | TaskConnection }
  | { ok: false; error: { name: string; message: string } };

/** Where a worker reads variables and connections: its database pool, its secret key and its environment (`UPDRAFT_CONN_<ID>`). */
export interface SecretSources {
  pool: Pool;
  secretKey: SecretKeySource;
  env: NodeJS.ProcessEnv;
  /** Aborted when the worker is forced to stop: reads stop waiting for the database. */
  forced: AbortSignal;
}

/** A value read for a try, with the secrets it holds (to be masked). */
interface Found<T> {
  value: T;
  secrets: string[];
  /** Values under sensitive keys of a connection's extra fields, also masked. */
  sensitive?: unknown;
}

/** The variables and connections of one try: its cache, its lookup budget, and its masker. */
export class TrySecrets {
  /** Masks every secret value this try has been given (and sensitive log fields). */
  readonly masker = new SecretMasker();
  readonly #answers = new Map<string, Promise<SecretReply>>();

  constructor(private readonly sources: SecretSources) {}

  /** Answers a request from task code; never throws (a failure is a reply). */
  ask(request: unknown): Promise<SecretReply> {
    const checked = checkRequest(request);
    if ('error' in checked) return Promise.resolve({ ok: false, error: { name: 'TypeError', message: checked.error } });
    const cacheKey = `${checked.kind}\0${checked.name}`;
    let answer = this.#answers.get(cacheKey);
    if (!answer) {
      if (this.#answers.size >= MAX_LOOKUPS_PER_TRY) {
        const message = `A try may read at most ${MAX_LOOKUPS_PER_TRY} different variables and connections; ${describe(checked)} is one too many`;
        return Promise.resolve({ ok: false, error: { name: 'TooManyLookups', message } });
      }
      answer = this.#read(checked);
      this.#answers.set(cacheKey, answer);
    }
    const fields = checked.secretFields;
    return fields ? answer.then((reply) => this.#maskSecretFields(reply, fields)) : answer;
  }

  /** Masks the values of the fields a connection's type marks secret (see SecretRequest.secretFields). */
  #maskSecretFields(reply: SecretReply, secretFields: SecretFieldsByType): SecretReply {
    if (!reply.ok || !reply.found || typeof reply.value === 'string') return reply;
    const conn = reply.value;
    const fields = Object.hasOwn(secretFields, conn.type) ? secretFields[conn.type]! : [];
    for (const field of fields) {
      const value = field.startsWith('extra.') ? (Object.hasOwn(conn.extra, field.slice(6)) ? conn.extra[field.slice(6)] : undefined) : STANDARD_FIELDS.has(field) ? conn[field as keyof TaskConnection] : undefined;
      this.masker.addEvery(value);
    }
    return reply;
  }

  async #read(request: SecretRequest): Promise<SecretReply> {
    try {
      const found = request.kind === 'variable' ? await readVariable(this.sources, request.name) : await readConnection(this.sources, request.name);
      if (!found) return { ok: true, found: false };
      for (const secret of found.secrets) this.masker.add(secret);
      if (found.sensitive !== undefined) this.masker.addSensitiveValues(found.sensitive);
      return { ok: true, found: true, value: found.value };
    } catch (e) {
      const error = coerceError(e);
      if (error instanceof SecretUnreadable) return { ok: false, error: { name: error.name, message: error.message } };
      const why = error instanceof NoSecretKey ? `it is stored encrypted, and ${error.message}` : error.message;
      return { ok: false, error: { name: error instanceof NoSecretKey ? error.name : 'SecretLookupFailed', message: `Could not read ${describe(request)}: ${why}` } };
    }
  }
}

/**
 * What `context()` of an in-process task carries under the SDK's `SECRETS_ACCESS` symbol: the
 * same lookups, called directly. Values are copied, so that a task cannot change the cached one.
 */
export function directAccess(secrets: TrySecrets): SecretsAccess {
  const call = async (kind: SecretRequest['kind'], name: string, secretFields?: SecretFieldsByType) => {
    // The worker's reading (its connections, their errors) is not the task's console.
    const reply = await outsideTaskConsole(() => secrets.ask({ kind, name, ...(secretFields === undefined ? {} : { secretFields }) }));
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
    return reply.found ? structuredClone(reply.value) : undefined;
  };
  return {
    variable: (key) => call('variable', key) as Promise<string | undefined>,
    connection: (id, options) => call('connection', id, options?.secretFields) as Promise<TaskConnection | undefined>,
  };
}

async function readVariable(sources: SecretSources, key: string): Promise<Found<string> | null> {
  const [row] = await retryWhileDatabaseFails(
    () => sql<{ value: string | null; encrypted_value: Buffer | null; is_secret: boolean }>(sources.pool, 'select_variable', [key]),
    sources.forced,
  );
  if (!row) return null;
  if (!row.is_secret) return { value: row.value!, secrets: [] };
  const value = sources.secretKey().open(row.encrypted_value!, variableContext(key), `value of variable "${key}"`);
  return { value, secrets: [value] };
}

async function readConnection(sources: SecretSources, id: string): Promise<Found<TaskConnection> | null> {
  // The environment wins over the database, as in Airflow (environment variables are searched first).
  const variable = connectionVariable(id);
  const text = sources.env[variable];
  if (text !== undefined && text !== '') {
    const fields = parseConnectionText(variable, text);
    return { value: { id, ...fields }, secrets: fields.password === null ? [] : [fields.password], sensitive: fields.extra };
  }
  const [row] = await retryWhileDatabaseFails(
    () =>
      sql<{ type: string; host: string | null; port: number | null; login: string | null; encrypted_password: Buffer | null; schema: string | null; encrypted_extra: Buffer | null }>(
        sources.pool,
        'select_connection',
        [id],
      ),
    sources.forced,
  );
  if (!row) return null;
  const needsKey = row.encrypted_password !== null || row.encrypted_extra !== null;
  const key = needsKey ? sources.secretKey() : null;
  const password = key ? openPassword(key, id, row.encrypted_password) : null;
  const extra = key ? openExtra(key, id, row.encrypted_extra) : {};
  const value: TaskConnection = { id, type: row.type, host: row.host, port: row.port, login: row.login, password, schema: row.schema, extra };
  return { value, secrets: password === null ? [] : [password], sensitive: extra };
}

function checkRequest(request: unknown): SecretRequest | { error: string } {
  const { kind, name, secretFields } = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  if (kind !== 'variable' && kind !== 'connection') return { error: 'a lookup asks for a "variable" or a "connection"' };
  if (typeof name !== 'string') return { error: `${kind}() takes a ${kind === 'variable' ? 'key' : 'connection id'} as a string, got ${name === null ? 'null' : typeof name}` };
  const problem = kind === 'variable' ? variableKeyProblem(name) : connectionIdProblem(name);
  if (problem) return { error: problem };
  if (secretFields === undefined || kind === 'variable') return { kind, name };
  const fieldsProblem = secretFieldsProblem(secretFields);
  return fieldsProblem ? { error: `connection("${name}"): the secret fields of connection types ${fieldsProblem}` } : { kind, name, secretFields: secretFields as SecretFieldsByType };
}

/** What is wrong with `secretFields` of a request (the task process sends it: bounded, plain), or null. */
function secretFieldsProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of field names by type';
  const entries = Object.entries(value);
  if (entries.length > MAX_SECRET_FIELD_TYPES) return `cover ${entries.length} types, more than ${MAX_SECRET_FIELD_TYPES}`;
  let count = 0;
  for (const [type, fields] of entries) {
    const shown = JSON.stringify(type.slice(0, 100));
    if (!Array.isArray(fields)) return `of type ${shown} must be a list of field names`;
    count += fields.length;
    if (count > MAX_SECRET_FIELDS) return `are more than ${MAX_SECRET_FIELDS}`;
    if (!fields.every((f) => typeof f === 'string' && f.length > 0 && f.length <= MAX_FIELD_NAME)) return `of type ${shown} must be names of 1 to ${MAX_FIELD_NAME} characters`;
  }
  return null;
}

function describe(request: SecretRequest): string {
  return `${request.kind} "${request.name}"`;
}
