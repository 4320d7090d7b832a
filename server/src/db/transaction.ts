import type { Pool, PoolClient } from 'pg';
import { pgErrorCode } from '../errors.js';
import type { Notification } from '../live/notifications.js';

/**
 * Runs `fn` in a transaction on one pooled connection: COMMIT when it returns, ROLLBACK
 * when it throws. A connection that failed mid-transaction is discarded, not returned to
 * the pool.
 *
 * `notifications`, asked for once `fn` has returned, are sent with the COMMIT, in the same
 * round trip (`NOTIFY …; COMMIT` as one simple query): a transaction announces
 * what it changed at no extra round trip, and only if it commits.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, notifications?: () => Notification[]): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(commitWith(client, notifications?.() ?? []));
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw e;
  } finally {
    client.release(broken);
  }
}

/**
 * inTransaction, tried again (up to 5 times) when PostgreSQL aborts it for a deadlock or a
 * serialization failure: nothing was committed, so running it again is safe.
 */
export async function inTransactionRetryingConflicts<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, notifications?: () => Notification[]): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, fn, notifications);
    } catch (e) {
      if (attempt < 5 && (pgErrorCode(e) === '40P01' || pgErrorCode(e) === '40001')) continue;
      throw e;
    }
  }
}

/**
 * COMMIT, preceded by a NOTIFY per notification (a utility statement: nothing to plan), in
 * one simple query; the driver escapes the channel and the payload (a simple query has no
 * parameters).
 */
function commitWith(client: PoolClient, notifications: Notification[]): string {
  if (notifications.length === 0) return 'COMMIT';
  return `${notifications.map((n) => `NOTIFY ${client.escapeIdentifier(n.channel)}, ${client.escapeLiteral(n.payload)}; `).join('')}COMMIT`;
}
