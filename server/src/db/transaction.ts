import type { Pool, PoolClient } from 'pg';
import { pgErrorCode } from '../errors.js';

/**
 * Runs `fn` in a transaction on one pooled connection: COMMIT when it returns, ROLLBACK
 * when it throws. A connection that failed mid-transaction is discarded, not returned to
 * the pool.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
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
export async function inTransactionRetryingConflicts<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, fn);
    } catch (e) {
      if (attempt < 5 && (pgErrorCode(e) === '40P01' || pgErrorCode(e) === '40001')) continue;
      throw e;
    }
  }
}
