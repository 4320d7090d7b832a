import type { Pool, PoolClient } from 'pg';
import type { DagStructure } from '../dags/structure.js';
import { loadStructure, taskOf } from '../dags/versions.js';
import { badInput, notFound } from '../errors.js';
import type { RunChanges } from '../live/notifications.js';
import { admitAfter } from './capacity.js';
import { sql } from './sql.js';
import { isWaiting } from './states.js';
import { decide, finishRunIfDone, inRunTransaction, scheduleDownstream, type CountedInstance } from './transitions.js';

/**
 * What an operator does to a run by hand (Airflow's clear, mark and "mark run as"), in one
 * transaction each, under the executor's locking rules: task instances locked in id order
 * first, the run last. Each leaves the counts of waiting instances true (recounted from their
 * upstream instances' states), starts what may now run, and ends the run when nothing can;
 * what changed is announced to live subscribers with the COMMIT (inRunTransaction). Slots of
 * pools and DAG limits that an action freed, and instances it left waiting for them, are
 * admitted right after it commits (admitAfter: the run row was locked before any pool's).
 */

/** Task instances of one run an operator acts on. */
export interface TaskSelection {
  dagRunId: number;
  taskIds: string[];
  /** Only these instances of the chosen tasks (their mapIndex); default: all of them. */
  mapIndexes?: number[] | null;
  /** Also every task downstream of the chosen ones (transitively), all of their instances. */
  downstream?: boolean;
  /** Also every task upstream of the chosen ones (transitively), all of their instances. */
  upstream?: boolean;
}

/** An instance an operator's statement changed, as it returns them. */
interface Changed {
  id: string;
  task_id: string;
  map_index: number;
  try_number: number;
}

interface Locked {
  id: string;
  task_id: string;
  map_index: number;
  state: string;
  try_number: number;
}

/**
 * Clears ended task instances so that they run again (Airflow's clear): each goes back to
 * `none` with its tries kept, its next try numbered after them and a full set of retries
 * ahead; its value is deleted. Instances still running or waiting are left alone. A run that
 * had ended runs again. A cleared mapped task reruns its instances with their items (it is
 * not expanded anew). Returns how many instances were cleared.
 */
export async function clearTaskInstances(pool: Pool, input: TaskSelection & { onlyFailed?: boolean }): Promise<number> {
  return admitAfter(pool, inRunTransaction(pool, async (client, changes) => {
    const { structure, targets } = await selectInstances(client, input);
    const chosen = input.onlyFailed ? targets.filter((ti) => ti.state === 'failed' || ti.state === 'upstream_failed') : targets;
    const cleared = await sql<Changed>(client, 'clear_task_instances', [
      chosen.map((ti) => ti.id),
      chosen.map((ti) => taskOf(structure, ti.task_id).retries + 1),
    ]);
    changes.instances(input.dagRunId, cleared, 'none');
    if (cleared.length > 0) await reconsider(client, input.dagRunId, structure, cleared, changes);
    return cleared.length;
  }));
}

/**
 * Sets task instances to `success` or `failed` by hand (Airflow's mark success / failed).
 * A running instance's try is stopped by its worker at the next heartbeat, with `TaskMarked`.
 * Waiting downstream instances then follow their trigger rules; a run that had ended is
 * decided again. Returns how many instances changed.
 */
export async function markTaskInstances(pool: Pool, input: TaskSelection & { state: 'success' | 'failed' }): Promise<number> {
  return admitAfter(pool, inRunTransaction(pool, async (client, changes) => {
    const { structure, targets } = await selectInstances(client, input);
    const marked = await sql<Changed>(client, 'mark_task_instances', [targets.map((ti) => ti.id), input.state]);
    changes.instances(input.dagRunId, marked, input.state);
    if (marked.length > 0) await reconsider(client, input.dagRunId, structure, marked, changes);
    return marked.length;
  }));
}

/**
 * Cancels a running run: it fails now, its task instances that have not started are skipped
 * and never start, and its running tries are stopped by their workers at the next heartbeat
 * (their signal is aborted) and end `failed` with `RunCancelled`.
 */
export async function cancelDagRun(pool: Pool, dagRunId: number): Promise<void> {
  await admitAfter(pool, inRunTransaction(pool, async (client, changes) => {
    const run = await selectRun(client, dagRunId);
    if (run.state !== 'running' && run.state !== 'queued') throw badInput(`DagRun ${dagRunId} has already ended (${run.state}); only a running run can be cancelled`);
    await sql(client, 'cancel_dag_run', [dagRunId]);
    changes.run(dagRunId, 'failed');
    changes.more(dagRunId); // its waiting instances were skipped: subscribers read them anew
  }));
}

/**
 * Marks a whole run (Airflow's "mark run as"): `success` makes every task instance `success`;
 * `failed` fails its running instances and skips those that have not started. Running tries
 * are stopped by their workers at the next heartbeat.
 */
export async function markDagRun(pool: Pool, dagRunId: number, state: 'success' | 'failed'): Promise<void> {
  await admitAfter(pool, inRunTransaction(pool, async (client, changes) => {
    await selectRun(client, dagRunId);
    await sql(client, 'mark_dag_run', [dagRunId, state]);
    changes.run(dagRunId, state);
    changes.more(dagRunId);
  }));
}

async function selectRun(client: PoolClient, dagRunId: number): Promise<{ dag_id: string; dag_version_id: number; state: string }> {
  const [run] = await sql<{ dag_id: string; dag_version_id: number; state: string }>(client, 'select_dag_run', [dagRunId]);
  if (!run) throw notFound(`DagRun ${dagRunId} does not exist`);
  return run;
}

/** Locks the selected instances (and every instance of their tasks); returns the selection. */
async function selectInstances(client: PoolClient, input: TaskSelection): Promise<{ structure: DagStructure; targets: Locked[] }> {
  const run = await selectRun(client, input.dagRunId);
  const structure = await loadStructure(client, run.dag_version_id);
  if (input.taskIds.length === 0) throw badInput('taskIds is empty: name at least one task');
  const known = new Set(structure.tasks.map((t) => t.id));
  for (const taskId of input.taskIds) {
    if (!known.has(taskId)) throw badInput(`DAG "${run.dag_id}" has no task "${taskId}" in the version DagRun ${input.dagRunId} runs`);
  }
  const chosen = new Set(input.taskIds);
  const related = new Set<string>();
  if (input.downstream) for (const id of input.taskIds) for (const d of reachable(structure, id, 'downstreamIds')) related.add(d);
  if (input.upstream) for (const id of input.taskIds) for (const u of reachable(structure, id, 'upstreamIds')) related.add(u);
  for (const id of chosen) related.delete(id);
  const mapIndexes = input.mapIndexes ? new Set(input.mapIndexes) : null;
  const locked = await sql<Locked>(client, 'lock_run_task_instances', [input.dagRunId, [...chosen, ...related], null]);
  const targets = locked.filter((ti) => related.has(ti.task_id) || mapIndexes === null || mapIndexes.has(ti.map_index));
  return { structure, targets };
}

/** Every task reachable from `taskId` along `direction`, transitively. */
function reachable(structure: DagStructure, taskId: string, direction: 'downstreamIds' | 'upstreamIds'): string[] {
  const seen = new Set<string>();
  const stack = [...taskOf(structure, taskId)[direction]];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...taskOf(structure, id)[direction]);
  }
  return [...seen];
}

/**
 * After instances of `changed` tasks changed state by hand: recounts the upstream outcomes
 * of every waiting instance among them and their direct downstream tasks, starts or ends
 * those whose trigger rules now decide, reopens the run if it had ended, and ends it again
 * when nothing is left to run.
 */
async function reconsider(client: PoolClient, dagRunId: number, structure: DagStructure, changed: Array<{ task_id: string }>, changes: RunChanges): Promise<void> {
  const taskIds = new Set(changed.map((ti) => ti.task_id));
  for (const id of [...taskIds]) for (const d of taskOf(structure, id).downstreamIds) taskIds.add(d);
  const waiting = (await sql<Locked>(client, 'lock_run_task_instances', [dagRunId, [...taskIds], null])).filter((ti) => isWaiting(ti.state));
  const pairs = waiting.flatMap((ti) => taskOf(structure, ti.task_id).upstreamIds.map((up) => [ti.id, up] as const));
  const recounted = await sql<CountedInstance>(client, 'recount_upstream_outcomes', [dagRunId, pairs.map(([id]) => id), pairs.map(([, up]) => up)]);
  // Roots have no upstream to count: their counts stay zero.
  const roots = waiting
    .filter((ti) => taskOf(structure, ti.task_id).upstreamIds.length === 0)
    .map((ti) => ({ ...ti, upstream_success_count: 0, upstream_skipped_count: 0, upstream_failed_count: 0, upstream_upstream_failed_count: 0, upstream_extra_count: 0 }));
  const reopened = await sql(client, 'reopen_dag_run', [dagRunId]);
  if (reopened.length > 0) changes.run(dagRunId, 'running');
  const decided = await decide(client, dagRunId, structure, [...recounted, ...roots], changes);
  const pending = decided.pending + (await scheduleDownstream(client, dagRunId, structure, decided.ended, changes));
  if (pending === 0) await finishRunIfDone(client, dagRunId, structure, changes);
}
