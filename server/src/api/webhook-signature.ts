// Signed webhook calls (a DAG's `webhook` option). The scheme is Stripe's, with GitHub's
// header format: the sender computes HMAC-SHA256 over `<timestamp>.<raw body>` with the shared
// secret and sends
//   X-Updraft-Timestamp: <unix seconds>
//   X-Updraft-Signature: sha256=<hex>
// The timestamp is inside the MAC, so a captured call cannot be replayed with a fresh one;
// a call whose timestamp is off by more than the tolerance (default 5 minutes) is refused,
// and a signature already accepted within the tolerance is refused as a replay
// (table webhook_delivery, recorded in the transaction that creates the run).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { z } from 'zod';
import { UpdraftError } from '../errors.js';
import { sql } from '../executor/sql.js';
import { openPassword } from '../secrets/connections.js';
import { connectionIdProblem, variableKeyProblem } from '../secrets/input.js';
import type { SecretKeySource } from '../secrets/key.js';
import { variableContext } from '../secrets/variables.js';

export const SIGNATURE_HEADER = 'x-updraft-signature';
export const TIMESTAMP_HEADER = 'x-updraft-timestamp';
/** Airflow-free default, Stripe's: 5 minutes either way. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
const MAX_TOLERANCE_SECONDS = 86_400;

/** `DagOptions.webhook` as stored in the DAG structure. */
export interface WebhookStructure {
  secret: { variable: string } | { connection: string };
  toleranceSeconds?: number;
}

export const webhookOptionsSchema = z.strictObject({
  secret: z.union([
    z.strictObject({ variable: z.string().refine((key) => variableKeyProblem(key) === null, 'is not a variable key') }),
    z.strictObject({ connection: z.string().refine((id) => connectionIdProblem(id) === null, 'is not a connection id') }),
  ], 'must be { variable: "<key>" } or { connection: "<id>" }'),
  toleranceSeconds: z.number().int('must be a whole number').min(1, 'must be 1 or more').max(MAX_TOLERANCE_SECONDS, `must be at most ${MAX_TOLERANCE_SECONDS}`).optional(),
});

/** The HMAC-SHA256 a sender puts in X-Updraft-Signature (without `sha256=`), as hex. */
export function signWebhook(secret: string, timestamp: string | number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

const unauthenticated = (message: string) =>
  new UpdraftError('UNAUTHENTICATED', message, { httpStatus: 401, headers: { 'www-authenticate': 'Signature header="X-Updraft-Signature"' } });

/**
 * Checks a call's signature against the DAG's secret; returns what identifies the delivery
 * (sha256 of the signature) for the replay check. Throws UNAUTHENTICATED saying what was
 * wrong, or SECRETS_UNAVAILABLE when the secret cannot be read.
 */
export async function verifyWebhookSignature(
  pool: Pool,
  secretKey: SecretKeySource,
  dagId: string,
  options: WebhookStructure,
  headers: Headers,
  body: Buffer,
  now = Date.now(),
): Promise<Buffer> {
  const header = headers.get(SIGNATURE_HEADER);
  const timestamp = headers.get(TIMESTAMP_HEADER);
  if (header === null || timestamp === null) {
    throw unauthenticated(`DAG "${dagId}" requires signed webhook calls: send X-Updraft-Timestamp (unix seconds) and X-Updraft-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`);
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthenticated('X-Updraft-Timestamp must be the time of the call in unix seconds');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const skew = Math.abs(now / 1000 - Number(timestamp));
  if (skew > tolerance) throw unauthenticated(`X-Updraft-Timestamp is ${Math.round(skew)} s away from the server's clock; at most ${tolerance} s is accepted (a replay, or a clock to set right)`);
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) throw unauthenticated('X-Updraft-Signature must read sha256=<64 hex digits>');
  const secret = await readSecret(pool, secretKey, dagId, options);
  const expected = Buffer.from(signWebhook(secret, timestamp, body), 'hex');
  const given = Buffer.from(match[1]!, 'hex');
  if (!timingSafeEqual(expected, given)) throw unauthenticated(`The signature does not match the body and timestamp under DAG "${dagId}"'s webhook secret`);
  return createHash('sha256').update(given).update(timestamp).digest();
}

/**
 * Records an accepted delivery in the transaction that acts on it; throws (409) when it was
 * accepted before. Deliveries older than the longest tolerance are pruned on the way.
 */
export async function recordDelivery(client: ClientBase, deliveryHash: Buffer): Promise<void> {
  const [inserted] = await sql<{ inserted: boolean }>(client, 'record_webhook_delivery', [deliveryHash, MAX_TOLERANCE_SECONDS * 2]);
  if (!inserted?.inserted) throw new UpdraftError('BAD_USER_INPUT', 'This signed call was already accepted: a replay is refused (sign each call anew, with its own timestamp)', { httpStatus: 409 });
}

async function readSecret(pool: Pool, secretKey: SecretKeySource, dagId: string, options: WebhookStructure): Promise<string> {
  const unusable = (why: string) =>
    new UpdraftError('SECRETS_UNAVAILABLE', `DAG "${dagId}"'s webhook secret cannot be used: ${why}`, { httpStatus: 503 });
  try {
    if ('variable' in options.secret) {
      const key = options.secret.variable;
      const [row] = await sql<{ value: string | null; encrypted_value: Buffer | null; is_secret: boolean }>(pool, 'select_variable', [key]);
      if (!row) throw unusable(`variable "${key}" does not exist (set it: updraft variables set ${key} <secret> --secret)`);
      const value = row.is_secret ? secretKey().open(row.encrypted_value!, variableContext(key), `value of variable "${key}"`) : row.value!;
      if (value.length === 0) throw unusable(`variable "${key}" is empty`);
      return value;
    }
    const id = options.secret.connection;
    const [row] = await sql<{ encrypted_password: Buffer | null }>(pool, 'select_connection', [id]);
    if (!row) throw unusable(`connection "${id}" does not exist`);
    const password = openPassword(secretKey(), id, row.encrypted_password);
    if (!password) throw unusable(`connection "${id}" has no password to sign with`);
    return password;
  } catch (e) {
    if (e instanceof UpdraftError) throw e;
    // NoSecretKey / SecretUnreadable say what to do; anything else is unexpected.
    if (e instanceof Error && (e.name === 'NoSecretKey' || e.name === 'SecretUnreadable')) throw unusable(e.message);
    throw e;
  }
}
