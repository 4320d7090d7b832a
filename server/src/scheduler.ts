import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Pool } from 'pg';
import { startAssetTriggers, type AssetTriggeredRun } from './assets/triggers.js';
import { latestTick, nextTick } from './dags/schedule.js';
import { coerceError } from './errors.js';
import { recoverLostTries } from './executor/recovery.js';
import { sql } from './executor/sql.js';
import type { LiveUpdates } from './live/live-updates.js';
import { createDagRun } from './runs.js';

export interface Scheduler {
  stop(): Promise<void>;
}

/** Longest sleep between two looks at the DAG table, so that new deploys are seen soon. */
const MAX_SLEEP_MS = 2_000;

/** Least time between two heartbeats (a pass may come sooner when a tick is due). */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Creates a scheduled DagRun at each tick of every active, unpaused DAG's schedule
 * (cron times in UTC; the run's logical date is the tick). Without catchup (a later
 * issue) a DAG's first run is its first tick after it was deployed, and ticks missed
 * while no scheduler ran are skipped but for the latest. `@once` runs once, at deploy.
 * Runs are unique per (DAG, logical date), so any number of schedulers may run at once.
 * Each pass also fails the tries of workers that stopped sending heartbeats (Airflow's
 * zombie detection), so that they are retried, and records the scheduler's own heartbeat
 * (table `scheduler`, which the API's `health` reads).
 */
export function startScheduler(opts: {
  pool: Pool;
  /** A worker silent this long is taken for dead. Default 30 s. */
  lostWorkerTimeoutMs?: number;
  onRun?: (dagId: string, runId: number, logicalDate: Date) => void;
  /** The process's LISTEN connection: asset events wake the asset loop (assets/triggers.ts). Without it, that loop polls. */
  live?: LiveUpdates;
  onAssetRun?: (run: AssetTriggeredRun) => void;
  onWarning?: (message: string) => void;
}): Scheduler {
  const assets = startAssetTriggers({ pool: opts.pool, live: opts.live, onRun: opts.onAssetRun, onWarning: opts.onWarning });
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const heartbeat = (stopping: boolean) => sql(opts.pool, 'heartbeat_scheduler', [id, os.hostname(), process.pid, stopping]);
  let lastHeartbeat = 0;
  let stopped = false;
  let wake: () => void = () => {};
  // The latest tick this scheduler handled per DAG: a pass creates a run only for a new tick.
  const handled = new Map<string, number>();
  const loop = (async () => {
    while (!stopped) {
      let sleepMs = MAX_SLEEP_MS;
      try {
        const now = new Date();
        if (now.getTime() - lastHeartbeat >= HEARTBEAT_EVERY_MS) {
          await heartbeat(false);
          lastHeartbeat = now.getTime();
        }
        const dags = await sql<{ id: string; schedule: string; created_at: Date }>(opts.pool, 'select_scheduled_dags', []);
        const { tries } = await recoverLostTries(opts.pool, { heartbeatTimeoutMs: opts.lostWorkerTimeoutMs });
        for (const lost of tries) {
          opts.onWarning?.(`${lost.reason}: ${lost.taskId} (run ${lost.dagRunId}, try ${lost.tryNumber}) of worker ${lost.workerId} failed and is ${lost.result?.taskState ?? 'already ended'}`);
        }
        for (const dag of dags) {
          const tick = dag.schedule === '@once' ? dag.created_at : latestTick(dag.schedule, now);
          if (tick && tick >= dag.created_at && handled.get(dag.id) !== tick.getTime()) {
            const runId = await createDagRun(opts.pool, { dagId: dag.id, runType: 'scheduled', logicalDate: tick });
            handled.set(dag.id, tick.getTime());
            if (runId !== null) opts.onRun?.(dag.id, runId, tick);
          }
          const next = nextTick(dag.schedule, now);
          if (next) sleepMs = Math.min(sleepMs, next.getTime() - Date.now());
        }
      } catch (e) {
        opts.onWarning?.(`scheduler: ${coerceError(e).message}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(sleepMs, 0));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      await assets.stop();
      if (lastHeartbeat > 0) await heartbeat(true).catch((e) => opts.onWarning?.(`scheduler: ${coerceError(e).message}`));
    },
  };
}
