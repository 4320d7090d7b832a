import type { Pool } from 'pg';
import { loadStructure } from './dags/versions.js';
import { inTransaction } from './db/transaction.js';
import { badInput, notFound } from './errors.js';
import { sql } from './executor/sql.js';
import { finishRunIfDone } from './executor/transitions.js';

export interface TriggerInput {
  dagId: string;
  /** JSON object handed to the run's tasks as `context().conf`. */
  conf?: unknown;
}

/** Starts a manual run of the DAG's newest version now. Returns the run id. */
export async function triggerDagRun(pool: Pool, input: TriggerInput): Promise<number> {
  const id = await createDagRun(pool, { ...input, runType: 'manual', logicalDate: null });
  if (id === null) throw badInput(`DAG "${input.dagId}" already has a run at this logical date; try again`);
  return id;
}

/**
 * Creates a DagRun on the DAG's newest version, with a task instance per task, and
 * enqueues the tasks without upstreams, all in one transaction. Returns the run id,
 * or null when the DAG already has a run for `logicalDate` (runs are unique per date).
 */
export async function createDagRun(
  pool: Pool,
  input: TriggerInput & { runType: 'manual' | 'scheduled'; logicalDate: Date | null },
): Promise<number | null> {
  const conf = input.conf ?? {};
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw badInput(`conf must be a JSON object, got ${Array.isArray(conf) ? 'an array' : JSON.stringify(conf)}`);
  }
  return inTransaction(pool, async (client) => {
    const [dag] = await sql<{ paused: boolean; is_active: boolean }>(client, 'select_dag_state', [input.dagId]);
    if (!dag) throw notFound(`DAG "${input.dagId}" does not exist; deploy it first (\`updraft deploy <dir>\`)`);
    if (!dag.is_active) throw badInput(`DAG "${input.dagId}" is no longer in the deployed DAG folder; deploy its file again to run it`);
    if (dag.paused) throw badInput(`DAG "${input.dagId}" is paused; unpause it to trigger runs`);
    const [run] = await sql<{ id: number; dag_version_id: number }>(client, 'create_dag_run', [input.dagId, input.runType, JSON.stringify(conf), input.logicalDate]);
    if (!run) return null;
    const structure = await loadStructure(client, run.dag_version_id);
    const created = await sql<{ id: string; task_id: string }>(client, 'create_task_instances', [
      run.id,
      structure.tasks.map((t) => t.id),
      structure.tasks.map((t) => t.retries + 1),
    ]);
    const roots = new Set(structure.tasks.filter((t) => t.upstreamIds.length === 0).map((t) => t.id));
    await sql(client, 'enqueue_task_instances', [created.filter((ti) => roots.has(ti.task_id)).map((ti) => ti.id)]);
    if (structure.tasks.length === 0) await finishRunIfDone(client, run.id, structure);
    return run.id;
  });
}
