import type { PoolClient } from 'pg';
import { loadStructure } from './dags/versions.js';
import { sql } from './executor/sql.js';
import type { RunChanges } from './live/notifications.js';
import { rootTaskIds, startRun } from './runs.js';

// Runs waiting `queued` for a slot: a DAG runs at most maxActiveRuns runs at once (backfill
// runs aside), and a backfill at most its own maxActiveRuns. A queued run has its task
// instances but none started; it starts, oldest logical date first, when a run of its DAG
// ends (finishRunIfDone), when a backfill is created, and when a scheduler wakes for queued
// runs (runs ended by an operator free slots without passing through finishRunIfDone).

/**
 * Starts the queued runs of `dagId` that have a free slot, in the caller's transaction.
 * Locks the DAG's row first when there is any queued run. Returns how many started.
 */
export async function startQueuedRuns(client: PoolClient, dagId: string, changes: RunChanges): Promise<number> {
  const [{ queued }] = (await sql<{ queued: boolean }>(client, 'has_queued_runs', [dagId])) as [{ queued: boolean }];
  if (!queued) return 0;
  const [dag] = await sql<{ paused: boolean; max_active_runs: number }>(client, 'select_dag_state', [dagId]);
  if (!dag) return 0;
  const started = await sql<{ id: number; dag_version_id: number }>(client, 'start_queued_runs', [dagId, dag.max_active_runs, dag.paused]);
  for (const run of started) {
    changes.run(run.id, 'running');
    const structure = await loadStructure(client, run.dag_version_id);
    const roots = await sql<{ id: string; task_id: string; map_index: number }>(client, 'select_root_instances', [run.id, rootTaskIds(structure)]);
    await startRun(client, run.id, structure, roots, changes);
  }
  return started.length;
}
