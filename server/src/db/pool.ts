import pg from 'pg';

/**
 * A node-postgres pool for the hot-path SQL and graphile-worker. A connection that drops
 * while idle (or checked out between queries) must not crash the process: the error is
 * reported and the next query reconnects. That is also how the pool survives a restart of
 * the embedded PostgreSQL, which comes back at the same URL (db/supervisor.ts).
 * `synchronousCommit: false`: its commits return before their WAL is flushed (for
 * statements whose loss in a crash of PostgreSQL is harmless, see executor/worker.ts).
 */
export function createPool(url: string, opts: { max?: number; onError?: (e: Error) => void; synchronousCommit?: boolean } = {}): pg.Pool {
  const onError = opts.onError ?? connectionLossReporter((message) => console.warn(`warning: ${message}`));
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 20, ...(opts.synchronousCommit === false ? { options: '-c synchronous_commit=off' } : {}) });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/**
 * Reports lost connections without flooding: when the server goes away every pooled
 * connection fails at once, so the first loss is reported and the following ones are
 * counted into the next report, at most one every `intervalMs`.
 */
export function connectionLossReporter(warn: (message: string) => void, intervalMs = 10_000): (e: Error) => void {
  let lastReport = 0;
  let unreported = 0;
  return (e) => {
    const now = Date.now();
    if (now - lastReport < intervalMs) {
      unreported++;
      return;
    }
    const more = unreported > 0 ? ` (and ${unreported} more since the last report)` : '';
    unreported = 0;
    lastReport = now;
    warn(`database connection lost: ${e.message}${more}`);
  };
}
