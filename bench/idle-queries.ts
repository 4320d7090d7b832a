// Idle cost of the whole platform: the statements `updraft start` (API, scheduler, worker)
// sends while nothing is due and nobody calls the API, counted by the pg client of this
// process (query-trace.ts), per second and by statement.
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveConfig } from '../server/src/config.js';
import { startPlatform } from '../server/src/platform.js';
import { fixedSecretKey, SecretKey } from '../server/src/secrets/key.js';
import { traceQueries } from './query-trace.js';

export interface IdleFigure {
  seconds: number;
  queries: number;
  perSecond: number;
  /** Statements by label, most frequent first. */
  byLabel: Array<[label: string, count: number]>;
}

/**
 * Starts the platform on `home` with the example DAGs deployed (all scheduled ones paused
 * but daily_etl and daily_report, which are due at midnight), lets it settle for
 * `settleMs`, then counts its statements for `measureMs`.
 */
export async function measureIdleQueries(home: string, dagsDir: string, opts: { settleMs?: number; measureMs?: number } = {}): Promise<IdleFigure> {
  await fs.mkdir(dagsDir, { recursive: true });
  for (const file of ['hello_world.ts', 'daily_report.ts', 'daily_etl.ts']) {
    await fs.copyFile(path.resolve(import.meta.dirname, '..', 'examples/dags', file), path.join(dagsDir, file));
  }
  const config = resolveConfig({ home, port: 0 });
  const platform = await startPlatform(config, {
    dagsDir,
    auth: { open: true },
    secretKey: fixedSecretKey(new SecretKey('bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz', 'the bench key')),
    onWarning: (m) => console.warn(`warning: ${m}`),
  });
  try {
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 5_000));
    const trace = traceQueries();
    const measureMs = opts.measureMs ?? 60_000;
    await new Promise((r) => setTimeout(r, measureMs));
    trace.stop();
    const counts = new Map<string, number>();
    for (const q of trace.queries) counts.set(q.label, (counts.get(q.label) ?? 0) + 1);
    return {
      seconds: measureMs / 1000,
      queries: trace.queries.length,
      perSecond: trace.queries.length / (measureMs / 1000),
      byLabel: [...counts].sort((a, b) => b[1] - a[1]),
    };
  } finally {
    await platform.stop();
  }
}
