import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Logger, run, type Runner, type Task } from 'graphile-worker';
import type { Pool } from 'pg';
import { BundleLoader } from '../bundle/loader.js';
import { bundleCacheDir, checkQueues, type UpdraftConfig } from '../config.js';
import { connectionLossReporter, createPool } from '../db/pool.js';
import { coerceError } from '../errors.js';
import { RETENTION_TASK, retentionCrontab, retentionTask } from '../retention/cron.js';
import type { RetentionHooks } from '../retention/engine.js';
import type { RetentionPolicy } from '../retention/policy.js';
import { maintenanceAccess } from '../retention/maintenance-access.js';
import { noSecretKey, SECRET_KEY_VARIABLE, type SecretKeySource } from '../secrets/key.js';
import { HEARTBEAT_TIMEOUT_MS, heartbeatIntervalMs, recoverLostTries } from './recovery.js';
import { stopReason } from './stop.js';
import { runTaskInstance, type RunTaskDeps, type RunTaskPayload, type TryEvent } from './run-task.js';
import { sql } from './sql.js';
import { taskEnvironment } from './task-environment.js';
import { claimTaskInstances } from './claims.js';
import { GroupCommit } from './group-commit.js';
import { finishTries } from './transitions.js';
import { TaskProcessPool } from './task-processes.js';
import { DEFAULT_LOG_LIMITS, type LogLimits } from './try-log.js';
import { LocalXComStore, type XComStore } from '../xcom/store.js';
import { defaultXComStore, sweepDeletedBlobs, XCOM_INLINE_MAX_BYTES, XCOM_MAX_BYTES } from '../xcom/values.js';

export interface WorkerOptions {
  pool: Pool;
  /** The metadata database's URL: kept out of task processes' environment. */
  databaseUrl: string;
  /** Where bundles are cached on disk. */
  cacheDir: string;
  /** Task instances run at once. Default 8. */
  concurrency?: number;
  /** The queues it takes task instances from (tasks choose theirs with `queue`). Default `['default']`. */
  queues?: string[];
  /** Memory of a task process unless the task sets `memoryLimit`, in MB. Default 1024. */
  memoryLimitMb?: number;
  /** A worker silent this long is taken for dead (by this worker's recovery pass too). Default 30 s. */
  lostWorkerTimeoutMs?: number;
  /** On stop(), how long running tries may take to finish before they are aborted. Default 30 s. */
  shutdownGraceMs?: number;
  /** After a timeout or a shutdown aborts a task's signal, how long it may take to return before it is killed. Default 5 s. */
  killGraceMs?: number;
  /**
   * The key that decrypts secret variables and stored connections for tasks (the one the API
   * encrypts with). Default: none; tasks can then read plain variables and `UPDRAFT_CONN_<ID>`
   * connections only, and a secret fails the task saying so.
   */
  secretKey?: SecretKeySource;
  /** Where tasks' `UPDRAFT_CONN_<ID>` connections are read. Default `process.env`. */
  connectionEnv?: NodeJS.ProcessEnv;
  /** How much one try may log: default 10,000 lines / 5 MB, then a truncation marker. */
  logLimits?: Partial<LogLimits>;
  /**
   * Where XCom values above `xcomInlineMaxBytes` are stored: every worker (and whatever sweeps
   * deleted blobs) must share it. Default: the folder `xcom` beside `cacheDir` (`<home>/xcom`).
   * A plugin may pass an S3-compatible store (see XComStore).
   */
  xcomStore?: XComStore;
  /** Values larger than this (their text, in bytes) go to `xcomStore`. Default 64 KB. */
  xcomInlineMaxBytes?: number;
  /** A larger value fails its task. Default 1 GB. */
  xcomMaxBytes?: number;
  /**
   * Run the retention cron job (server/src/retention) with this policy; graphile-worker runs
   * each tick once whatever the number of workers. Default: none (`updraft start` and
   * `updraft worker` pass the configured one).
   */
  retention?: RetentionPolicy | null;
  /** Called by retention passes, e.g. after XCom rows were deleted (their blobs may go). */
  retentionHooks?: RetentionHooks;
  onEvent?: (event: TryEvent) => void;
  /** graphile-worker's own log lines at warning level and above, and the worker's own troubles. */
  onWarning?: (message: string) => void;
}

/** The queue of every task not given one. */
export const DEFAULT_QUEUE = 'default';

/** The graphile-worker task identifier of a queue's jobs (as enqueue_task_instances.sql names them). */
export function taskIdentifier(queue: string): string {
  return queue === DEFAULT_QUEUE ? 'run_task' : `run_task:${queue}`;
}

/** The worker options a platform configuration decides. */
export function workerSettings(config: UpdraftConfig) {
  return {
    cacheDir: bundleCacheDir(config),
    concurrency: config.concurrency,
    queues: config.queues,
    memoryLimitMb: config.memoryLimitMb,
    lostWorkerTimeoutMs: config.lostWorkerTimeoutMs,
    shutdownGraceMs: config.shutdownGraceMs,
    logLimits: { maxLines: config.logMaxLines, maxBytes: config.logMaxBytes },
    xcomStore: defaultXComStore(config.home),
    xcomInlineMaxBytes: config.xcomInlineMaxBytes,
    xcomMaxBytes: config.xcomMaxBytes,
    retention: config.retention,
  } satisfies Partial<WorkerOptions>;
}

export interface Worker {
  id: string;
  /**
   * Stops taking jobs and lets running tries finish for the grace period, then aborts
   * them (they end as `WorkerShutdown` and are retried without using up a retry).
   * `force` aborts at once and stops waiting for the database. Idempotent; a forced call
   * during a graceful stop hurries it.
   */
  stop(opts?: { force?: boolean }): Promise<void>;
}

/**
 * Starts a worker: a graphile-worker runner whose only task, `run_task` (`run_task:<queue>`
 * for each queue other than `default` it serves), runs one try of a task instance, in a pool of task processes. Any number of workers on any machines can
 * share one database; each also runs lost-worker recovery, so no scheduler is needed for it.
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = opts.concurrency ?? 8;
  const queues = checkQueues(opts.queues ?? [DEFAULT_QUEUE]);
  const lostWorkerTimeoutMs = opts.lostWorkerTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const killGraceMs = opts.killGraceMs ?? 5_000;
  const warn = (message: string) => opts.onWarning?.(message);
  const interrupt = new AbortController();
  const forced = new AbortController();
  const processes = new TaskProcessPool({ max: concurrency, killGraceMs, env: taskEnvironment(opts.databaseUrl), onWarning: warn });
  const holding = new Map<string, AbortController>();
  const xcomStore = opts.xcomStore ?? new LocalXComStore(path.join(path.dirname(opts.cacheDir), 'xcom'));
  // Retention deletes XCom rows in batches: their blobs go at once (the periodic sweep below would take them too).
  const retentionHooks: RetentionHooks = opts.retentionHooks ?? { afterXComDeleted: async () => void (await sweepDeletedBlobs(opts.pool, xcomStore, { maxBatches: 20 })) };
  const lockers = new Set<string>();
  let stopRequested = false;
  const deps: RunTaskDeps = {
    pool: opts.pool,
    bundles: new BundleLoader(opts.pool, opts.cacheDir),
    processes,
    workerId: id,
    memoryLimitMb: opts.memoryLimitMb ?? 1024,
    killGraceMs,
    holding,
    interrupt: interrupt.signal,
    forced: forced.signal,
    secretKey: opts.secretKey ?? noSecretKey(`this worker was started without a secret key (${SECRET_KEY_VARIABLE})`),
    connectionEnv: opts.connectionEnv ?? process.env,
    logLimits: checkedLogLimits(opts.logLimits),
    xcom: { store: xcomStore, inlineMaxBytes: opts.xcomInlineMaxBytes ?? XCOM_INLINE_MAX_BYTES, maxBytes: opts.xcomMaxBytes ?? XCOM_MAX_BYTES },
    // At most 64 a batch: one claim's notification stays well under NOTIFY's 8,000 bytes.
    claims: new GroupCommit((wanted) => claimTaskInstances(opts.pool, id, wanted), { maxInFlight: 1, maxBatch: 64 }),
    // A try that ends alone may hand its slot to the next instance of its run (ContinueWith), unless the worker is stopping.
    finishes: new GroupCommit((batch) => finishTries(opts.pool, batch, stopRequested ? undefined : { workerId: id, queues }), { maxInFlight: 2, maxBatch: 64 }),
    maintenance: (dagId) =>
      maintenanceAccess({ pool: opts.pool, lostWorkerTimeoutMs, batchSize: opts.retention?.batchSize, hooks: retentionHooks, signal: interrupt.signal }, dagId),
    onEvent: opts.onEvent,
  };
  process.setSourceMapsEnabled(true);

  await sql(opts.pool, 'register_worker', [id, os.hostname(), process.pid, concurrency, queues]);
  const runTask: Task = async (payload, helpers) => {
    if (helpers.job.locked_by && !lockers.has(helpers.job.locked_by)) {
      // Recovery must know a job slot's id before that slot could need releasing.
      lockers.add(helpers.job.locked_by);
      await beat();
    }
    return runTaskInstance(deps, payload as RunTaskPayload, helpers.job.id);
  };
  // graphile-worker's own statements (fetching, completing jobs) on connections that do not
  // wait for their commit's WAL flush: a flush (about 2 ms here) per job fetch and
  // completion would be most of a no-op task's cost. Their loss in a crash of PostgreSQL
  // is harmless, because the try's state is the truth and is committed durably first: a lost
  // completion runs the job again, and its claim drops it (the instance is no longer
  // queued); a lost fetch lets the job be fetched again, and the claim decides who runs it.
  const jobsPool = createPool(opts.databaseUrl, { max: concurrency + 2, synchronousCommit: false, onError: connectionLossReporter(warn) });
  const runner: Runner = await run({
    pgPool: jobsPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2_000,
    // Our own grace period and interruption govern running tries; graphile-worker's abort signal is not used.
    gracefulShutdownAbortTimeout: 24 * 3_600_000,
    logger: new Logger(() => (level, message) => {
      if (level === 'error' || level === 'warning') warn(message);
    }),
    // One fetch locks a batch of jobs for all slots (one poll per pool, not per slot), and
    // completions that land together are deleted together. Jobs wait in the local queue for
    // at most LOCAL_QUEUE_TTL_MS, well under release_stalled_jobs.sql's 60 s.
    preset: { worker: { localQueue: { size: concurrency, ttl: LOCAL_QUEUE_TTL_MS }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    parsedCronItems: opts.retention ? retentionCrontab(opts.retention) : [],
    // Only the task identifiers of its queues: graphile-worker never hands it another queue's job.
    taskList: {
      ...(opts.retention
        ? { [RETENTION_TASK]: retentionTask({ pool: opts.pool, policy: opts.retention, hooks: retentionHooks, signal: interrupt.signal, onWarning: warn }) }
        : {}),
      ...Object.fromEntries(queues.map((queue) => [taskIdentifier(queue), runTask])),
    },
  });

  let beating: Promise<void> | undefined;
  const beat = (stopping = false) =>
    (beating = (async () => {
      await beating;
      const stopped = await sql<{ try_id: string; run_state: string; task_state: string }>(opts.pool, 'heartbeat_worker', [id, stopping, [...holding.keys()], [...lockers]]);
      for (const row of stopped) holding.get(row.try_id)?.abort(stopReason(row));
    })().catch((e) => warn(`worker heartbeat failed: ${coerceError(e).message}`)));
  let recovering = false;
  const recover = async () => {
    // A pass timed before stop() would otherwise run on a pool its owner may have ended.
    if (recovering || stopRequested) return;
    recovering = true;
    try {
      const { tries, releasedSlots } = await recoverLostTries(opts.pool, { heartbeatTimeoutMs: lostWorkerTimeoutMs });
      if (releasedSlots > 0) warn(`released the jobs of ${releasedSlots} job slot(s) that locked a job without running it (a connection lost mid-delivery)`);
      for (const lost of tries) {
        warn(`${lost.reason}: ${lost.taskId} (run ${lost.dagRunId}, try ${lost.tryNumber}) of worker ${lost.workerId} failed and is ${lost.result?.taskState ?? 'already ended'}`);
      }
    } catch (e) {
      warn(`lost-worker recovery failed: ${coerceError(e).message}`);
    } finally {
      recovering = false;
    }
  };
  // Blobs of deleted XCom rows (a clear, a deleted DAG, retention) are deleted here too.
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    void sweepDeletedBlobs(opts.pool, xcomStore, { maxBatches: 20 })
      .catch((e: unknown) => warn(`deleting the blobs of deleted XCom values failed: ${coerceError(e).message}`))
      .finally(() => (sweeping = false));
  }, BLOB_SWEEP_INTERVAL_MS);
  sweep.unref();
  const interval = heartbeatIntervalMs(lostWorkerTimeoutMs);
  let beats = 0;
  const heartbeat = setInterval(() => {
    void beat();
    // A recovery pass every few beats (most of an idle platform's statements otherwise),
    // spread over that time so that many workers' passes do not coincide.
    if (beats++ % BEATS_PER_RECOVERY === 0) setTimeout(() => void recover(), Math.random() * interval * BEATS_PER_RECOVERY).unref();
  }, interval);
  heartbeat.unref();

  let stopping: Promise<void> | undefined;
  return {
    id,
    stop(stopOpts = {}) {
      if (stopOpts.force) {
        interrupt.abort();
        forced.abort();
        void processes.close();
      }
      return (stopping ??= stop());
    },
  };

  async function stop() {
    stopRequested = true;
    const grace = setTimeout(() => interrupt.abort(), opts.shutdownGraceMs ?? 30_000);
    try {
      // Heartbeats go on meanwhile: tries finishing in the grace period are still held.
      await runner.stop();
    } finally {
      clearTimeout(grace);
      clearInterval(heartbeat);
      clearInterval(sweep);
      await processes.close();
      await beat(true);
      await jobsPool.end();
    }
  }
}

/**
 * Heartbeats per recovery pass: with the default 30 s timeout, a beat every 5 s and a pass
 * every 15 s, so a dead worker's tries are retried within 30–45 s of its last beat.
 */
const BEATS_PER_RECOVERY = 3;

/** How long fetched jobs may wait in a worker's local queue before they are given back. */
const LOCAL_QUEUE_TTL_MS = 20_000;

/** How often a worker deletes the blobs of deleted XCom rows. */
const BLOB_SWEEP_INTERVAL_MS = 60_000;

function checkedLogLimits(limits: Partial<LogLimits> = {}): LogLimits {
  const checked = { ...DEFAULT_LOG_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
  for (const [name, value] of Object.entries(checked)) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`logLimits.${name} must be a whole number of at least 1, got ${value}`);
  }
  return checked;
}
