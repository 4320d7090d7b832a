import pg from 'pg';

/**
 * A node-postgres pool for the hot-path SQL and graphile-worker. A connection that drops
 * while idle (or checked out between queries) must not crash the process: the error is
 * reported and the next query reconnects.
 */
export function createPool(url: string, opts: { max?: number; onError?: (e: Error) => void } = {}): pg.Pool {
  const onError = opts.onError ?? ((e: Error) => console.warn(`database connection lost: ${e.message}`));
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20 });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}
