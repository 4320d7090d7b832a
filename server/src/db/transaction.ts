import type { Pool, PoolClient } from 'pg';

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
