import { performance } from 'node:perf_hooks';
import { Logger, run, type Runner, type TaskList } from 'graphile-worker';
import type { Pool } from 'pg';
import type { Cleanup } from './cleanup.js';
import { within } from './wait.js';

const TASK = 'bench_raw_noop';

/**
 * The floor: a bare graphile-worker runner (concurrency 1, the same pool and poll interval
 * as Updraft's worker) and a no-op task. Each sample is the wall-clock time from just
 * before `SELECT graphile_worker.add_job(...)` is sent (autocommit: it commits before it
 * returns) to the start of the task handler. Jobs are added one at a time, each only
 * once the worker has finished the previous one and gone idle, so every sample takes the
 * idle path: commit, NOTIFY, get_job, handler.
 */
export async function measureRawLatency(pool: Pool, cleanup: Cleanup, opts: { warmup: number; samples: number }): Promise<number[]> {
  let onStart: ((at: number) => void) | undefined;
  let onIdle: (() => void) | undefined;
  const runner = await bareRunner(pool, 1, { [TASK]: async () => onStart?.(performance.now()) });
  const stopRunner = cleanup.defer('stop the raw graphile-worker runner', () => runner.stop());
  runner.events.on('worker:getJob:empty', () => onIdle?.());

  const latencies: number[] = [];
  try {
    for (let i = 0; i < opts.warmup + opts.samples; i++) {
      const started = new Promise<number>((resolve) => (onStart = resolve));
      // The empty get_job after a job is when the worker waits for the next NOTIFY.
      const idle = new Promise<void>((resolve) => (onIdle = resolve));
      const sentAt = performance.now();
      await pool.query('SELECT graphile_worker.add_job($1, $2::json)', [TASK, '{}']);
      const startedAt = await within(started, 5_000, `raw job ${i} did not start`);
      if (i >= opts.warmup) latencies.push(startedAt - sentAt);
      await within(idle, 5_000, `the raw runner did not go idle after job ${i}`);
    }
  } finally {
    await stopRunner();
  }
  return latencies;
}

/**
 * graphile-worker 0.17's settings for throughput (its "Performance: batching" docs): a local
 * queue that locks and fetches jobs in batches (served to its workers without a round trip
 * each), and completions and failures batched into one statement per window. The local queue
 * holds several fetches' worth for the concurrency; the completion window is short enough not
 * to hold a fast job's lock for long.
 */
export const FASTEST_PRESET = (concurrency: number) => ({
  worker: {
    localQueue: { size: Math.max(50, concurrency * 10) },
    completeJobBatchDelay: 10,
    failJobBatchDelay: 10,
  },
});

export interface RawChainResult {
  /** Per step: the chain's wall time (first add → last handler end) / its length, ms, one per chain. */
  perStep: number[];
  /** addJob of the next job called (inside the handler) → that job's handler starts, ms. */
  handoffs: number[];
}

/**
 * The baseline of a chain: a job whose handler enqueues the next job (`helpers.addJob`, in
 * the job's own connection, so it commits before the job completes), `length` jobs in all,
 * `chains` times one after the other, on a bare runner at concurrency 1 with default settings
 * (a local queue does not help a chain: there is never more than one job to fetch).
 */
export async function measureRawChain(pool: Pool, cleanup: Cleanup, opts: { length: number; chains: number }): Promise<RawChainResult> {
  const result: RawChainResult = { perStep: [], handoffs: [] };
  let addedAt = 0;
  let onChainEnd: (() => void) | undefined;
  const runner = await bareRunner(pool, 1, {
    [CHAIN_TASK]: async (payload, helpers) => {
      const startedAt = performance.now();
      const { step, value } = payload as { step: number; value: number };
      if (step > 0 && measuring) result.handoffs.push(startedAt - addedAt);
      if (step + 1 === opts.length) {
        onChainEnd?.();
        return;
      }
      addedAt = performance.now();
      await helpers.addJob(CHAIN_TASK, { step: step + 1, value: value + 1 });
    },
  });
  const stopRunner = cleanup.defer('stop the raw graphile-worker chain runner', () => runner.stop());
  let measuring = false;
  try {
    // One warm-up chain, then the measured ones.
    for (let i = 0; i <= opts.chains; i++) {
      measuring = i > 0;
      const ended = new Promise<void>((resolve) => (onChainEnd = resolve));
      const began = performance.now();
      await pool.query('SELECT graphile_worker.add_job($1, $2::json)', [CHAIN_TASK, JSON.stringify({ step: 0, value: 0 })]);
      await within(ended, 120_000, `a raw chain of ${opts.length} jobs did not end`);
      if (measuring) result.perStep.push((performance.now() - began) / opts.length);
    }
  } finally {
    await stopRunner();
  }
  return result;
}

const CHAIN_TASK = 'bench_raw_chain';

/** A bare graphile-worker runner on `pool` (the same poll interval as Updraft's worker) with `taskList`. */
function bareRunner(pool: Pool, concurrency: number, taskList: TaskList, preset?: GraphileConfig.Preset): Promise<Runner> {
  return run({ pgPool: pool, concurrency, noHandleSignals: true, pollInterval: 2_000, logger: quietLogger, ...(preset ? { preset } : {}), taskList });
}

export const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

/**
 * The floor for a wide run: `count` no-op jobs added in one `add_jobs` call and run by a
 * bare runner at `concurrency`; returns the wall-clock ms from the add to the last job's end.
 */
export async function measureRawThroughput(pool: Pool, cleanup: Cleanup, opts: { count: number; concurrency: number; fastest?: boolean }): Promise<number> {
  let done = 0;
  let onAllDone: (() => void) | undefined;
  const onJob = async () => {
    if (++done === opts.count) onAllDone?.();
  };
  const runner = await bareRunner(pool, opts.concurrency, { [TASK]: onJob }, opts.fastest ? FASTEST_PRESET(opts.concurrency) : undefined);
  const stopRunner = cleanup.defer('stop the raw graphile-worker runner', () => runner.stop());
  try {
    const allDone = new Promise<void>((resolve) => (onAllDone = resolve));
    const startedAt = performance.now();
    await pool.query(
      `SELECT graphile_worker.add_jobs(array_agg(ROW($1, '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec)) FROM generate_series(1, $2)`,
      [TASK, opts.count],
    );
    await within(allDone, 600_000, `${opts.count} raw jobs did not finish`);
    return performance.now() - startedAt;
  } finally {
    await stopRunner();
  }
}
