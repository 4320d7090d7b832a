// Connections (Airflow's): how tasks reach external systems, read at run time with
// `connection(id)`. The password and the extra fields are stored encrypted. The password is
// write-only (the API says only whether there is one); extra fields are shown with the value
// of every sensitive key (`api_key`, `token`…) replaced by `***`.
import type { Db } from '../db/prisma.js';
import { badInput, notFound } from '../errors.js';
import { connectionIdProblem, connectionProblems, MAX_DESCRIPTION_LENGTH, textProblem, type ConnectionFields } from './input.js';
import type { SecretKey } from './key.js';
import { isSensitiveName, MASK } from './masking.js';

/** What `upsertConnection` stores. `password` undefined keeps the stored one; null or "" removes it. */
export interface ConnectionInput {
  id: string;
  type: string;
  host?: string | null;
  port?: number | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  /** A JSON object; a sensitive key whose value is `***` keeps its stored value (what the API showed). */
  extra?: Record<string, unknown> | null;
  description?: string | null;
}

/** What happened to the password in an upsert. */
export type PasswordChange = 'set' | 'kept' | 'removed' | 'none';

/** The authenticated-data contexts of a connection's ciphertexts. */
export const passwordContext = (id: string) => `connection:${id}:password`;
export const extraContext = (id: string) => `connection:${id}:extra`;

/** Refuses an id that cannot name a connection (BAD_USER_INPUT). */
export function checkConnectionId(id: string): void {
  const problem = connectionIdProblem(id);
  if (problem) throw badInput(problem);
}

/**
 * Creates or replaces a connection. Every field is replaced, except the password when it is
 * not given. The key (`secretKey`) is asked for only when something must be sealed or opened.
 */
export async function upsertConnection(prisma: Db, input: ConnectionInput, secretKey: () => SecretKey): Promise<{ id: string; created: boolean; password: PasswordChange }> {
  checkConnectionId(input.id);
  const password = input.password === undefined ? undefined : input.password === '' ? null : input.password;
  const fields: ConnectionFields = {
    type: input.type,
    host: input.host ?? null,
    port: input.port ?? null,
    login: input.login ?? null,
    password: password ?? null,
    schema: input.schema ?? null,
    extra: input.extra ?? {},
  };
  const problems = connectionProblems(fields);
  const description = input.description ?? null;
  const descriptionProblem = description === null ? null : textProblem('description', description, MAX_DESCRIPTION_LENGTH);
  if (descriptionProblem) problems.push(descriptionProblem);
  if (problems.length > 0) throw badInput(`Connection "${input.id}": ${problems.join('; ')}`);

  const stored = await prisma.connection.findUnique({ where: { id: input.id }, select: { encryptedPassword: true, encryptedExtra: true } });
  let extra = fields.extra;
  if (stored?.encryptedExtra && hasMaskedValue(extra)) {
    extra = keepMaskedValues(extra, openExtra(secretKey(), input.id, stored.encryptedExtra));
  }
  const sealedExtra = Object.keys(extra).length === 0 ? null : seal(secretKey(), JSON.stringify(extra), extraContext(input.id));
  const data = {
    type: fields.type,
    host: fields.host,
    port: fields.port,
    login: fields.login,
    schema: fields.schema,
    encryptedExtra: sealedExtra,
    description,
    ...(password === undefined ? {} : { encryptedPassword: password === null ? null : seal(secretKey(), password, passwordContext(input.id)) }),
  };
  await prisma.connection.upsert({ where: { id: input.id }, create: { id: input.id, ...data }, update: data, select: { id: true } });
  const had = Boolean(stored?.encryptedPassword);
  const change: PasswordChange = password === undefined ? (had ? 'kept' : 'none') : password === null ? (had ? 'removed' : 'none') : 'set';
  return { id: input.id, created: stored === null, password: change };
}

/** Deletes a connection; NOT_FOUND when there is none. */
export async function deleteConnection(prisma: Db, id: string): Promise<void> {
  checkConnectionId(id);
  const { count } = await prisma.connection.deleteMany({ where: { id } });
  if (count === 0) throw notFound(`Connection "${id}" does not exist`);
}

/** A connection's stored password, decrypted (null: none). Throws SecretUnreadable naming the connection. */
export function openPassword(key: SecretKey, id: string, sealed: Uint8Array | null): string | null {
  return sealed === null ? null : key.open(sealed, passwordContext(id), `password of connection "${id}"`);
}

/** A connection's stored extra fields, decrypted ({} when none). Throws SecretUnreadable naming the connection. */
export function openExtra(key: SecretKey, id: string, sealed: Uint8Array | null): Record<string, unknown> {
  return sealed === null ? {} : (JSON.parse(key.open(sealed, extraContext(id), `extra of connection "${id}"`)) as Record<string, unknown>);
}

function seal(key: SecretKey, plaintext: string, context: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(key.seal(plaintext, context));
}

/** Whether a sensitive key of `extra` (at any depth) holds `***`, as the API shows it. */
function hasMaskedValue(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, item]) => (item === MASK && isSensitiveName(key)) || hasMaskedValue(item));
}

/** `extra` with each `***` under a sensitive key replaced by the stored value at the same place, if there is one. */
function keepMaskedValues(extra: Record<string, unknown>, stored: unknown): Record<string, unknown> {
  const merge = (value: unknown, old: unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const before = typeof old === 'object' && old !== null && !Array.isArray(old) ? (old as Record<string, unknown>) : {};
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, item === MASK && isSensitiveName(key) && key in before ? before[key] : merge(item, before[key])]),
    );
  };
  return merge(extra, stored) as Record<string, unknown>;
}
