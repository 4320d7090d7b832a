import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Logger, run, type Runner } from 'graphile-worker';
import type { Pool } from 'pg';
import { BundleLoader } from '../bundle/loader.js';
import { runTaskInstance, type RunTaskPayload, type TryEvent } from './run-task.js';
import { sql } from './sql.js';

export interface WorkerOptions {
  pool: Pool;
  /** Where bundles are cached on disk. */
  cacheDir: string;
  /** Task instances run at once. Default 8. */
  concurrency?: number;
  onEvent?: (event: TryEvent) => void;
  /** graphile-worker's own log lines at warning level and above. */
  onWarning?: (message: string) => void;
}

export interface Worker {
  id: string;
  /** Stops taking jobs, lets running tries finish (aborting their signal after a grace period). Idempotent. */
  stop(): Promise<void>;
}

const HEARTBEAT_MS = 5_000;
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts a worker: a graphile-worker runner whose only task, `run_task`, runs one try of
 * a task instance. Any number of workers on any machines can share one database.
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = opts.concurrency ?? 8;
  const shutdown = new AbortController();
  const deps = { pool: opts.pool, bundles: new BundleLoader(opts.pool, opts.cacheDir), workerId: id, onEvent: opts.onEvent, shutdown: shutdown.signal };
  process.setSourceMapsEnabled(true);

  await sql(opts.pool, 'register_worker', [id, os.hostname(), process.pid, concurrency]);
  const runner: Runner = await run({
    pgPool: opts.pool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2_000,
    logger: new Logger(() => (level, message) => {
      if (level === 'error' || level === 'warning') opts.onWarning?.(message);
    }),
    taskList: { run_task: (payload) => runTaskInstance(deps, payload as RunTaskPayload) },
  });
  const heartbeat = setInterval(() => {
    sql(opts.pool, 'heartbeat_worker', [id, false]).catch((e) => opts.onWarning?.(`worker heartbeat failed: ${e}`));
  }, HEARTBEAT_MS);
  heartbeat.unref();

  let stopping: Promise<void> | undefined;
  return {
    id,
    stop: () => (stopping ??= stop()),
  };

  async function stop() {
    clearInterval(heartbeat);
    // Running tries get a grace period to finish before their signal is aborted.
    const grace = setTimeout(() => shutdown.abort(), SHUTDOWN_GRACE_MS);
    await runner.stop();
    clearTimeout(grace);
    await sql(opts.pool, 'heartbeat_worker', [id, true]);
  }
}
