// `npm run bench -- --profile-fan-out [N]`: where a fan-out's time goes on this server. One
// mapped fan-out of N (default 2,000) on an in-process worker at concurrency 8, with every
// statement timed from the client (bench/query-trace.ts) and the server's backends sampled
// every 20 ms for what they wait on (pg_stat_activity): run it on two servers and compare.
import type { Pool } from 'pg';
import type { Cleanup } from './cleanup.js';
import { measureHandoff } from './handoff.js';
import { traceQueries } from './query-trace.js';
import { probeServer } from './server-probe.js';

export async function profileFanOut(db: { pool: Pool; url: string }, cleanup: Cleanup, opts: { cacheDir: string; dagId: string; count: number }): Promise<string> {
  const probe = await probeServer(db.pool);
  const waits = new Map<string, number>();
  let samples = 0;
  const sampler = setInterval(() => {
    db.pool
      .query<{ wait: string; n: number }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' (' || state || ')' AS wait, count(*)::int AS n
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1`,
      )
      .then(({ rows }) => {
        samples++;
        for (const r of rows) waits.set(r.wait, (waits.get(r.wait) ?? 0) + r.n);
      })
      .catch(() => undefined);
  }, 20);
  const trace = traceQueries();
  let wallMs = 0;
  try {
    const result = await measureHandoff(db, cleanup, { cacheDir: opts.cacheDir, concurrency: 8, dagId: opts.dagId, warmup: 0, measured: 1, runTimeoutMs: 900_000 });
    wallMs = result.runWallTimes[0]!;
  } finally {
    trace.stop();
    clearInterval(sampler);
  }
  const byLabel = new Map<string, { n: number; ms: number }>();
  for (const q of trace.queries) {
    const e = byLabel.get(q.label) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += Number.isNaN(q.doneAt) ? 0 : q.doneAt - q.sentAt;
    byLabel.set(q.label, e);
  }
  const top = [...byLabel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20);
  const lines = [
    `server: SELECT 1 p50 ${probe.roundTrip.p50.toFixed(2)} ms, one-row commit p50 ${probe.commit.p50.toFixed(2)} ms`,
    `fan-out of ${opts.count}: ${wallMs.toFixed(0)} ms, ${(opts.count / (wallMs / 1000)).toFixed(0)} tasks/s; ${trace.queries.length} statements (${(trace.queries.length / opts.count).toFixed(1)} per task)`,
    `statements by total client time (ms), count, per task, mean ms:`,
    ...top.map(([label, e]) => `  ${e.ms.toFixed(0).padStart(8)}  ${String(e.n).padStart(7)}  ${(e.n / opts.count).toFixed(2).padStart(5)}  ${(e.ms / e.n).toFixed(2).padStart(6)}  ${label}`),
    `active backends by wait event, mean over ${samples} samples:`,
    ...[...waits].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([w, n]) => `  ${(n / Math.max(1, samples)).toFixed(2).padStart(6)}  ${w}`),
  ];
  return lines.join('\n');
}
