import type { Pool } from 'pg';
import { loadStructure, taskOf } from '../dags/versions.js';
import { inTransaction } from '../db/transaction.js';
import { admitWaiting } from './capacity.js';
import { sql } from './sql.js';
import { abandonTry, finishTry, type FinishedTry } from './transitions.js';
import { coerceError, isConnectionError } from '../errors.js';

/** A worker that sent no heartbeat for this long is taken for dead, unless configured otherwise. */
export const HEARTBEAT_TIMEOUT_MS = 30_000;

/** How often a worker heartbeats (and recovery runs) for a given lost-worker timeout. */
export const heartbeatIntervalMs = (lostWorkerTimeoutMs: number) => Math.min(5_000, Math.max(250, Math.floor(lostWorkerTimeoutMs / 4)));

export interface LostTry {
  workerId: string;
  dagRunId: number;
  taskId: string;
  tryNumber: number;
  /** `WorkerLost` when its worker went silent or stopped, `TryAbandoned` when its live worker no longer holds it. */
  reason: 'WorkerLost' | 'TryAbandoned';
  result: FinishedTry | null;
}

export interface Recovery {
  tries: LostTry[];
  /** Workers declared lost in this pass. */
  lostWorkers: string[];
  /** Their jobs deleted because recovery ended the tries those jobs ran. */
  deletedJobs: number;
  /** Job slots unlocked because a job they locked was never delivered (see release_stalled_jobs.sql). */
  releasedSlots: number;
  /**
   * Task instances queued by the pass's admission into pools and DAG limits (executor/capacity.ts):
   * due retries waiting for a slot, and anything a path that freed slots missed.
   */
  admitted: number;
}

/** How long a job may stay locked without its task instance being claimed. */
const STALLED_JOB_S = 60;

/**
 * Ends the running tries that no live worker holds, as a retryable failure, so that their
 * task instances are retried (or fail and move their run on) instead of staying `running`
 * forever; then declares their silent workers lost and releases those workers'
 * graphile-worker jobs at once, and releases jobs whose delivery was lost. A worker that was only frozen and comes back finds its
 * try already ended: its late result is discarded, never recorded twice. Safe to run from
 * any number of workers and schedulers at once.
 */
export async function recoverLostTries(pool: Pool, opts: { heartbeatTimeoutMs?: number } = {}): Promise<Recovery> {
  const timeout = opts.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const lost = await sql<{
    try_id: string;
    try_number: number;
    task_instance_id: string;
    dag_run_id: number;
    task_id: string;
    max_tries: number;
    dag_version_id: number;
    worker_id: string;
    worker_alive: boolean;
  }>(pool, 'select_lost_tries', [timeout]);
  const tries: LostTry[] = [];
  for (const row of lost) {
    const reason = row.worker_alive ? 'TryAbandoned' : 'WorkerLost';
    const message = row.worker_alive
      ? `worker ${row.worker_id} is alive but no longer holds this try (it ended without being recorded)`
      : `worker ${row.worker_id} stopped sending heartbeats while running this try (killed, frozen or cut off)`;
    let result: FinishedTry | null;
    try {
      const structure = await loadStructure(pool, row.dag_version_id);
      result = await finishTry(pool, {
        dagRunId: row.dag_run_id,
        taskInstanceId: row.task_instance_id,
        tryId: row.try_id,
        tryNumber: row.try_number,
        maxTries: row.max_tries,
        structure,
        task: taskOf(structure, row.task_id),
        outcome: { kind: 'failed', error: { name: reason, message }, retryable: true },
        logs: [],
      });
    } catch (e) {
      if (isConnectionError(e)) throw e;
      const ended = await abandonTry(pool, row.try_id, { name: reason, message: `${message}; it could not be finished normally: ${coerceError(e).message}` });
      result = ended ? { taskState: 'failed', runState: 'failed' } : null;
    }
    tries.push({ workerId: row.worker_id, dagRunId: row.dag_run_id, taskId: row.task_id, tryNumber: row.try_number, reason, result });
  }
  const released = await inTransaction(pool, async (client) => {
    const marked = await sql<{ id: string; job_lockers: string[] | null }>(client, 'mark_workers_lost', [timeout]);
    if (marked.length === 0) return { lostWorkers: [], deletedJobs: 0 };
    await sql(client, 'unlock_jobs', [marked.flatMap((w) => w.job_lockers ?? [])]);
    const [deleted] = await sql<{ deleted: number }>(client, 'delete_lost_jobs', [marked.map((w) => w.id)]);
    return { lostWorkers: marked.map((w) => w.id), deletedJobs: deleted?.deleted ?? 0 };
  });
  const [stalled] = await sql<{ slots: number }>(pool, 'release_stalled_jobs', [STALLED_JOB_S]);
  const admitted = await admitWaiting(pool);
  return { tries, ...released, releasedSlots: stalled?.slots ?? 0, admitted };
}
