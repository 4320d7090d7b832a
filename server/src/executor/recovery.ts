import type { Pool } from 'pg';
import { loadStructure, taskOf } from '../dags/versions.js';
import { sql } from './sql.js';
import { finishTry, type FinishedTry } from './transitions.js';

/** A worker that sent no heartbeat for this long is taken for dead. Heartbeats come every 5 s. */
export const HEARTBEAT_TIMEOUT_MS = 30_000;

export interface LostTry {
  workerId: string;
  dagRunId: number;
  taskId: string;
  tryNumber: number;
  result: FinishedTry | null;
}

/**
 * Fails the tries of workers that stopped sending heartbeats, as a retryable error, so that
 * their task instances are retried (or fail and move their run on) instead of staying
 * `running` forever. A worker that was only frozen and comes back finds its try already
 * ended: its late result is discarded, never recorded twice.
 */
export async function recoverLostTries(pool: Pool, opts: { heartbeatTimeoutMs?: number } = {}): Promise<LostTry[]> {
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
  }>(pool, 'select_lost_tries', [timeout]);
  const recovered: LostTry[] = [];
  for (const row of lost) {
    const structure = await loadStructure(pool, row.dag_version_id);
    const result = await finishTry(pool, {
      dagRunId: row.dag_run_id,
      taskInstanceId: row.task_instance_id,
      tryId: row.try_id,
      tryNumber: row.try_number,
      maxTries: row.max_tries,
      structure,
      task: taskOf(structure, row.task_id),
      outcome: {
        kind: 'failed',
        error: { name: 'WorkerLostError', message: `worker ${row.worker_id} stopped sending heartbeats while running this try (killed or cut off)` },
        retryable: true,
      },
      logs: [],
    });
    recovered.push({ workerId: row.worker_id, dagRunId: row.dag_run_id, taskId: row.task_id, tryNumber: row.try_number, result });
  }
  await sql(pool, 'mark_workers_lost', [timeout]);
  return recovered;
}
