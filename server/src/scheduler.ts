import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Pool } from 'pg';
import { startAssetTriggers, type AssetTriggeredRun } from './assets/triggers.js';
import { coerceError } from './errors.js';
import { HEARTBEAT_TIMEOUT_MS, recoverLostTries } from './executor/recovery.js';
import { sql } from './executor/sql.js';
import { inRunTransaction } from './executor/transitions.js';
import type { LiveUpdates, WatchedEvent } from './live/live-updates.js';
import { startQueuedRuns } from './run-queue.js';
import { isDue, scheduleDag, scheduledDags, type ScheduledDag } from './scheduled-runs.js';

export interface Scheduler {
  /** This scheduler's id (table `scheduler`). */
  id: string;
  /**
   * One pass now: reload what changed, create the due runs, start queued runs that have a
   * slot, recover lost tries and heartbeat when their time has come. Tests drive a
   * scheduler made with `loop: false` and a `now` of their own with it.
   */
  pass(): Promise<void>;
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  pool: Pool;
  /**
   * The process's live updates: the scheduler wakes on their notifications (a deploy, a
   * pause or unpause, a run that ended, an asset event for the asset loop in
   * assets/triggers.ts) over the one LISTEN connection the process has. Without them it
   * looks at the DAG table every `pollMs`, and the asset loop every 2 s.
   */
  live?: LiveUpdates;
  /** A worker silent this long is taken for dead. Default 30 s. */
  lostWorkerTimeoutMs?: number;
  /** The clock the schedule is read with (tests move it by hand). Default: the system's. */
  now?: () => Date;
  /** Run passes by itself (default); false: only when `pass()` is called. */
  loop?: boolean;
  /** Longest sleep without live updates. Default 2 s. */
  pollMs?: number;
  onRun?: (dagId: string, runId: number, logicalDate: Date) => void;
  /** An asset-triggered run was created (assets/triggers.ts, which runs beside the loop, woken by the same live updates). */
  onAssetRun?: (run: AssetTriggeredRun) => void;
  onWarning?: (message: string) => void;
}

/** Longest sleep with live updates: a due time is known in advance and changes are notified. */
const MAX_SLEEP_MS = 60_000;
/** How long a DAG that another scheduler held is left before it is looked at again. */
const HELD_RETRY_MS = 1_000;
/** How long a DAG whose runs could not be created (an error) is left before it is tried again. */
const FAILED_RETRY_MS = 30_000;

/**
 * The scheduler: creates each scheduled DAG's runs when their data intervals end
 * (scheduled-runs.ts), starts queued runs when a slot frees (run-queue.ts), fails the tries
 * of workers that stopped sending heartbeats (Airflow's zombie detection) and records its
 * own heartbeat (table `scheduler`, which the API's `health` reads).
 *
 * It does not poll: it sleeps until the next due time, its next heartbeat, or a
 * notification — `updraft_dags` (a deploy, a pause or unpause, a cursor another scheduler
 * moved) reloads the DAG list, and a run's end on `updraft_run` looks for queued runs. After
 * a reconnection of the LISTEN connection it reloads everything. Any number may run at once.
 */
export function startScheduler(opts: SchedulerOptions): Scheduler {
  const assets = opts.loop === false ? null : startAssetTriggers({ pool: opts.pool, live: opts.live, onRun: opts.onAssetRun, onWarning: opts.onWarning });
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const clock = opts.now ?? (() => new Date());
  const pool = opts.pool;
  const warn = (message: string) => opts.onWarning?.(`scheduler: ${message}`);
  // Heartbeats (and lost-worker sweeps) often enough for `health` to see it alive: a
  // quarter of the timeout, at most every 10 s, so that an idle scheduler costs little.
  const timeoutMs = opts.lostWorkerTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const heartbeatEveryMs = Math.min(10_000, Math.max(250, Math.floor(timeoutMs / 4)));
  const heartbeat = (stopping: boolean) => sql(pool, 'heartbeat_scheduler', [id, os.hostname(), process.pid, stopping]);

  let dags = new Map<string, ScheduledDag>();
  /** Not before this time (a DAG held by another scheduler, or that failed). */
  const retryAt = new Map<string, number>();
  let reload = true;
  let lookForQueued = true;
  let lastHeartbeat = 0;
  let stopped = false;
  let unwatch: (() => void) | undefined;
  let wake: () => void = () => {};
  let passing: Promise<void> = Promise.resolve();

  const onEvent = (event: WatchedEvent) => {
    if (event.kind === 'dags' && event.n.dags?.length === 0) return; // import errors only
    if (event.kind === 'dags' || event.kind === 'resync') reload = true;
    if (event.kind === 'resync' || (event.kind === 'run' && (event.n.state === 'success' || event.n.state === 'failed'))) lookForQueued = true;
    if (event.kind !== 'log' && (reload || lookForQueued)) wake();
  };

  const listen = async () => {
    if (!opts.live || unwatch) return;
    try {
      unwatch = await opts.live.watch(onEvent);
      reload = lookForQueued = true; // whatever changed before listening
    } catch (e) {
      warn(`cannot listen for changes, looking every ${opts.pollMs ?? 2_000} ms instead: ${coerceError(e).message}`);
    }
  };

  /** One pass; returns how long to sleep. */
  const runPass = async (): Promise<number> => {
    await listen();
    let now = clock();
    if (now.getTime() - lastHeartbeat >= heartbeatEveryMs) {
      lastHeartbeat = now.getTime();
      await heartbeat(false);
      const { tries } = await recoverLostTries(pool, { heartbeatTimeoutMs: opts.lostWorkerTimeoutMs });
      for (const lost of tries) {
        warn(`${lost.reason}: ${lost.taskId} (run ${lost.dagRunId}, try ${lost.tryNumber}) of worker ${lost.workerId} failed and is ${lost.result?.taskState ?? 'already ended'}`);
      }
    }
    if (reload || !unwatch) {
      reload = false;
      dags = new Map((await scheduledDags(pool)).map((d) => [d.id, d]));
    }
    now = clock();
    for (const dag of dags.values()) {
      if (!isDue(dag, now) || (retryAt.get(dag.id) ?? 0) > now.getTime()) continue;
      try {
        const result = await scheduleDag(pool, dag.id, now);
        if (result.skipped) {
          retryAt.set(dag.id, now.getTime() + HELD_RETRY_MS);
          continue;
        }
        retryAt.delete(dag.id);
        dags.set(dag.id, { id: dag.id, planned: true, dueAt: result.dueAt });
        for (const run of result.created) opts.onRun?.(dag.id, run.runId, run.logicalDate);
      } catch (e) {
        retryAt.set(dag.id, now.getTime() + FAILED_RETRY_MS);
        warn(`DAG "${dag.id}": could not create its scheduled runs (trying again in ${FAILED_RETRY_MS / 1000} s): ${coerceError(e).message}`);
      }
    }
    if (lookForQueued || !unwatch) {
      lookForQueued = false;
      const queued = await sql<{ dag_id: string }>(pool, 'select_dags_with_queued_runs', []);
      for (const { dag_id } of queued) await inRunTransaction(pool, (client, changes) => startQueuedRuns(client, dag_id, changes));
    }
    // Sleep until the next thing to do.
    now = clock();
    let until = lastHeartbeat + heartbeatEveryMs;
    for (const dag of dags.values()) {
      const at = Math.max(dag.planned ? (dag.dueAt?.getTime() ?? Infinity) : now.getTime(), retryAt.get(dag.id) ?? 0);
      until = Math.min(until, at);
    }
    return Math.min(until - now.getTime(), unwatch ? MAX_SLEEP_MS : (opts.pollMs ?? 2_000));
  };

  const pass = async (): Promise<number> => {
    try {
      return await runPass();
    } catch (e) {
      warn(coerceError(e).message);
      return opts.pollMs ?? 2_000;
    }
  };

  const loop = (async () => {
    if (opts.loop === false) return;
    while (!stopped) {
      const p = pass();
      passing = p.then(() => undefined);
      const sleepMs = await p;
      if (stopped) break;
      // A notification during the pass wakes the next one at once.
      if (reload || lookForQueued) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(sleepMs, 0));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  })();

  return {
    id,
    async pass() {
      await passing;
      const p = pass();
      passing = p.then(() => undefined);
      await p;
    },
    async stop() {
      stopped = true;
      wake();
      await loop;
      await passing;
      await assets?.stop();
      unwatch?.();
      if (lastHeartbeat > 0) await heartbeat(true).catch((e) => warn(coerceError(e).message));
    },
  };
}
