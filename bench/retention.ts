// Retention figures (`npm run bench -- --retention-only [--retention-runs 5000]`): a pass over
// old history (runs with 2 tasks, 20 log lines a try, over 90 days), its rows/s and its longest
// batch (the longest it holds any lock), and how long a write to a running run's task instance
// waits meanwhile.
import { performance } from 'node:perf_hooks';
import type { Database } from '../server/src/platform.js';
import { cleanDatabase } from '../server/src/retention/engine.js';
import { seedHistory } from '../test/support/history.js';
import { summarize } from './stats.js';

export interface RetentionFigures {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  batches: number;
  maxBatchMs: number;
  slowestStatement: string | null;
  dryRunSeconds: number;
  /** Latency of a one-row UPDATE of a running run's task instance, every 5 ms while the pass ran. */
  probe: { count: number; p50: number; p99: number; max: number };
}

export async function measureRetention(db: Database, opts: { runs: number }): Promise<RetentionFigures> {
  const perDag = Math.ceil(opts.runs / 5);
  for (let d = 0; d < 5; d++) await seedHistory(db.pool, { dagId: `retention_bench_${d}`, runs: perDag, oldestDays: 89.95, newestDays: 0.05, tasksPerRun: 2, logLinesPerTry: 20 });
  // A run in progress, with a task instance the probe keeps writing.
  const [running] = await seedHistory(db.pool, { dagId: 'retention_bench_running', runs: 1, oldestDays: 0, newestDays: 0, tasksPerRun: 1, logLinesPerTry: 0 });
  await db.pool.query(`UPDATE dag_run SET state = 'running', ended_at = NULL WHERE id = $1`, [running]);
  const { rows } = await db.pool.query<{ id: string }>(`UPDATE task_instance SET state = 'running', ended_at = NULL WHERE dag_run_id = $1 RETURNING id::text`, [running]);
  const probeId = rows[0]!.id;

  const t0 = performance.now();
  await cleanDatabase(db.pool, { olderThanMs: 30 * 86_400_000, dryRun: true, trigger: 'bench' });
  const dryRunSeconds = (performance.now() - t0) / 1000;

  const latencies: number[] = [];
  let passing = true;
  const probe = (async () => {
    while (passing) {
      const s = performance.now();
      await db.pool.query('UPDATE task_instance SET queued_at = now() WHERE id = $1', [probeId]);
      latencies.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const result = await cleanDatabase(db.pool, { olderThanMs: 30 * 86_400_000, trigger: 'bench' });
  passing = false;
  await probe;
  if (result.error) throw new Error(`the retention pass failed: ${result.error}`);
  const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
  const probeSummary = summarize(latencies);
  return {
    rows: total,
    seconds: result.durationMs / 1000,
    rowsPerSecond: Math.round(total / (result.durationMs / 1000)),
    batches: result.batches,
    maxBatchMs: result.maxBatchMs,
    slowestStatement: result.slowestStatement,
    dryRunSeconds: Math.round(dryRunSeconds * 100) / 100,
    probe: { count: latencies.length, p50: round(probeSummary.p50), p99: round(probeSummary.p99), max: round(probeSummary.max) },
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
