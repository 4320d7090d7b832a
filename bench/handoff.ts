import fs from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Db } from '../server/src/db/prisma.js';
import { deployDags } from '../server/src/deploy.js';
import { startWorker } from '../server/src/executor/worker.js';
import { triggerDagRun } from '../server/src/runs.js';
import type { Cleanup } from './cleanup.js';
import { within } from './wait.js';

export const CHAIN_DAG_ID = 'bench_chain';
/** The same chain with `isolation: 'none'`: task code in the worker's process. */
export const CHAIN_IN_PROCESS_DAG_ID = 'bench_chain_in_process';
/** The same chain (isolated) whose tasks each log one line: what writing a little log costs a handoff. */
export const CHAIN_LOGGING_DAG_ID = 'bench_chain_logging';

/**
 * Writes a DAG folder with three DAGs: a chain of `length` no-op tasks t000 -> t001 -> ...,
 * once isolated (the default) and once in-process, and a chain of tasks that log one line each.
 * The folder links the repository's SDK so the bundler resolves `@updraft/sdk` from it.
 */
export async function writeChainDag(dir: string, length: number): Promise<void> {
  await fs.mkdir(path.join(dir, 'node_modules', '@updraft'), { recursive: true });
  await fs.symlink(path.resolve(import.meta.dirname, '..', 'sdk'), path.join(dir, 'node_modules', '@updraft', 'sdk'), 'dir');
  const ids = Array.from({ length }, (_, i) => `t${String(i).padStart(3, '0')}`);
  const code = [
    `import { chain, context, dag, task } from '@updraft/sdk';`,
    ``,
    `const noops = ${JSON.stringify(ids)}.map((id) => task(id, () => undefined));`,
    `const loggers = ${JSON.stringify(ids)}.map((id) => task(id, () => { context().log.info('handing off'); }));`,
    ``,
    `export default dag({ id: '${CHAIN_DAG_ID}', description: 'Benchmark: a chain of ${length} no-op tasks' }, () => {`,
    `  chain(...noops.map((noop) => noop()));`,
    `});`,
    ``,
    `export const inProcess = dag({ id: '${CHAIN_IN_PROCESS_DAG_ID}', defaultArgs: { isolation: 'none' } }, () => {`,
    `  chain(...noops.map((noop) => noop()));`,
    `});`,
    ``,
    `export const logging = dag({ id: '${CHAIN_LOGGING_DAG_ID}' }, () => {`,
    `  chain(...loggers.map((logger) => logger()));`,
    `});`,
    ``,
  ].join('\n');
  await fs.writeFile(path.join(dir, 'chain.ts'), code);
}

export async function deployChain(prisma: Db, dagsDir: string, cacheDir: string): Promise<void> {
  const result = await deployDags(prisma, dagsDir, { cacheDir });
  if (result.importErrors.length > 0) throw new Error(`the benchmark DAG did not deploy:\n${result.importErrors.map((e) => e.message).join('\n')}`);
}

export interface HandoffResult {
  /** Next try's started_at minus previous try's ended_at, ms, over the measured runs. */
  handoffs: number[];
  /** dag_run ended_at minus started_at, ms, per measured run. */
  runWallTimes: number[];
  /** First try's started_at minus dag_run started_at (the trigger), ms, per measured run. */
  firstStarts: number[];
}

/**
 * Runs the DAG (the chain by default) `warmup + measured` times, one run after the other, on one Updraft worker
 * with the given concurrency, and reads the handoffs back from task_try (database clock).
 */
export async function measureHandoff(
  db: { pool: Pool; url: string },
  cleanup: Cleanup,
  opts: { cacheDir: string; concurrency: number; warmup: number; measured: number; dagId?: string; runTimeoutMs?: number },
): Promise<HandoffResult> {
  const dagId = opts.dagId ?? CHAIN_DAG_ID;
  let onRunEnd: ((state: string) => void) | undefined;
  const worker = await startWorker({
    pool: db.pool,
    databaseUrl: db.url,
    cacheDir: opts.cacheDir,
    concurrency: opts.concurrency,
    onEvent: (event) => {
      if (event.kind === 'finished' && event.result.runState) onRunEnd?.(event.result.runState);
    },
    onWarning: (message) => console.warn(`worker: ${message}`),
  });
  const stopWorker = cleanup.defer(`stop the Updraft worker (concurrency ${opts.concurrency})`, () => worker.stop());

  const measuredRuns: number[] = [];
  try {
    for (let i = 0; i < opts.warmup + opts.measured; i++) {
      const ended = new Promise<string>((resolve) => (onRunEnd = resolve));
      const runId = await triggerDagRun(db.pool, { dagId });
      const state = await within(ended, opts.runTimeoutMs ?? 30_000, `run ${runId} of ${dagId} did not end`);
      if (state !== 'success') throw new Error(`run ${runId} of ${dagId} ended ${state}`);
      if (i >= opts.warmup) measuredRuns.push(runId);
    }
  } finally {
    await stopWorker();
  }

  const { rows: handoffs } = await db.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM started_at - previous_ended_at)::float8 * 1000 AS ms
     FROM (
       SELECT tt.started_at, lag(tt.ended_at) OVER (PARTITION BY ti.dag_run_id ORDER BY ti.task_id) AS previous_ended_at
       FROM task_instance ti JOIN task_try tt ON tt.task_instance_id = ti.id
       WHERE ti.dag_run_id = ANY($1::int[])
     ) pairs
     WHERE previous_ended_at IS NOT NULL`,
    [measuredRuns],
  );
  const { rows: runs } = await db.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM ended_at - started_at)::float8 * 1000 AS ms FROM dag_run WHERE id = ANY($1::int[]) ORDER BY id`,
    [measuredRuns],
  );
  const { rows: firstStarts } = await db.pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM min(tt.started_at) - r.started_at)::float8 * 1000 AS ms
     FROM dag_run r JOIN task_instance ti ON ti.dag_run_id = r.id JOIN task_try tt ON tt.task_instance_id = ti.id
     WHERE r.id = ANY($1::int[]) GROUP BY r.id, r.started_at ORDER BY r.id`,
    [measuredRuns],
  );
  return { handoffs: handoffs.map((r) => r.ms), runWallTimes: runs.map((r) => r.ms), firstStarts: firstStarts.map((r) => r.ms) };
}
