import type { PoolClient } from 'pg';
import type { DagStructure, TaskStructure } from '../dags/structure.js';
import { taskOf } from '../dags/versions.js';
import type { RunChanges } from '../live/notifications.js';
import { enqueueTaskInstances } from './capacity.js';
import { sql } from './sql.js';
import { setTaskStates, type Finished } from './transitions.js';

/** A task instance by row id, task id and map index, as the SQL statements return them. */
interface InstanceRow {
  id: string;
  task_id: string;
  map_index: number;
  /** Known when the statement returned it (live notifications show it). */
  try_number?: number;
}

/**
 * Starts task instances whose trigger rules let them run: enqueues them, but expands a
 * mapped task's unexpanded instance (map_index -1; see expand). Returns how many it left pending (enqueued or
 * expanded), and the mapped ones that ended at once: skipped for an empty list, failed
 * for a list that cannot be mapped.
 */
export async function startTaskInstances(
  client: PoolClient,
  dagRunId: number,
  structure: DagStructure,
  instances: InstanceRow[],
  changes: RunChanges,
): Promise<{ started: number; ended: Finished[] }> {
  const unexpanded = (ti: InstanceRow) => ti.map_index === -1 && taskOf(structure, ti.task_id).map !== undefined;
  const plain = instances.filter((ti) => !unexpanded(ti));
  if (plain.length > 0) {
    await enqueueTaskInstances(client, dagRunId, structure, plain.map((ti) => ti.id), changes);
    changes.instances(dagRunId, plain, 'queued');
  }
  let started = plain.length;
  const ended: Finished[] = [];
  for (const ti of instances.filter(unexpanded)) {
    const task = taskOf(structure, ti.task_id);
    const outcome = await expand(client, dagRunId, structure, task, ti.id, changes);
    if (outcome === 'expanded') started++;
    else ended.push({ taskId: task.id, outcome });
  }
  return { started, ended };
}

/**
 * Expands a mapped task's instance into one instance per item of its list (or tuple of its
 * zipped lists, as many as the shortest has), `mapIndex` 0…n−1, in a few statements
 * whatever n: the items are gathered and the instances inserted by one statement
 * (expand_task_instance.sql). Its downstream instances then wait for n outcomes instead of
 * one. With `maxActiveTisPerTask`, only that many are enqueued; the others wait
 * `scheduled` until an instance ends (releaseMappedSlot). An empty list skips the task; a
 * list that cannot be mapped fails it with `MappingFailed`.
 */
async function expand(
  client: PoolClient,
  dagRunId: number,
  structure: DagStructure,
  task: TaskStructure,
  instanceId: string,
  changes: RunChanges,
): Promise<'expanded' | 'skipped' | 'failed'> {
  const sources = task.map!.sources;
  const lengths = await listLengths(client, dagRunId, structure, task);
  const problem = lengths.find((l): l is { problem: string } => 'problem' in l)?.problem;
  const n = Math.min(...lengths.map((l) => ('length' in l ? l.length : 0)));
  const error = problem ?? (n > task.maxMapLength ? `maps over ${n.toLocaleString('en')} items; its maxMapLength is ${task.maxMapLength.toLocaleString('en')}` : undefined);
  if (error !== undefined) {
    const message = `Task "${task.id}" cannot be mapped: ${error}.`;
    const failed = await sql<{ task_instance_id: string; try_number: number }>(client, 'fail_task_instance', [instanceId, JSON.stringify({ name: 'MappingFailed', message })]);
    changes.instances(dagRunId, failed.map((ti) => ({ id: ti.task_instance_id, task_id: task.id, try_number: ti.try_number })), 'failed');
    return 'failed';
  }
  if (n === 0) {
    await setTaskStates(client, dagRunId, [instanceId], 'skipped', changes);
    return 'skipped';
  }
  if (n > 1 && task.downstreamIds.length > 0) {
    const downstream = await sql<{ id: string }>(client, 'lock_task_instances', [dagRunId, task.downstreamIds]);
    await sql(client, 'add_upstream_instances', [downstream.map((ti) => ti.id), n - 1]);
  }
  const toEnqueue = await sql<{ id: string }>(client, 'expand_task_instance', [
    instanceId,
    n,
    sources.map((s) => ('value' in s ? 'value' : taskOf(structure, s.xcom.taskId).map ? 'mapped' : 'xcom')),
    sources.map((s) => ('xcom' in s ? s.xcom.taskId : null)),
    sources.map((s) => ('xcom' in s ? s.xcom.key : null)),
    sources.map((s) => ('value' in s ? JSON.stringify(s.value) : null)),
    task.maxActiveTisPerTask ?? n,
    task.map!.zip,
  ]);
  await enqueueTaskInstances(client, dagRunId, structure, toEnqueue.map((ti) => ti.id), changes);
  changes.more(dagRunId); // n instances now exist: subscribers read them anew
  return 'expanded';
}

/** The length of each list a mapped task maps over, or what makes it unmappable. */
async function listLengths(client: PoolClient, dagRunId: number, structure: DagStructure, task: TaskStructure): Promise<Array<{ length: number } | { problem: string }>> {
  const sources = task.map!.sources;
  const upstream = sources.flatMap((s) => ('xcom' in s ? [s.xcom] : []));
  const rows =
    upstream.length === 0
      ? []
      : await sql<{ type: string | null; length: number | null; encoded: number; blobs: number }>(client, 'select_map_sources', [
          dagRunId,
          upstream.map((u) => u.taskId),
          upstream.map((u) => u.key),
          upstream.map((u) => taskOf(structure, u.taskId).map !== undefined),
        ]);
  let next = 0;
  return sources.map((source) => {
    if ('value' in source) return { length: source.value.length };
    const { type, length, encoded, blobs } = rows[next++]!;
    const what = `the output of task "${source.xcom.taskId}"`;
    if (type === null) return { problem: `${what} has no value (the task ended without one)` };
    // Lists are split in SQL: inline plain JSON, or the items the worker split (see ARCHITECTURE.md, "XCom at any size").
    if (type === 'stored') return { problem: `${what} could not be split into items to map over (it is not a list, or an item is larger than the XCom inline limit)` };
    if (blobs > 0) return { problem: `${blobs} of the values of mapped task "${source.xcom.taskId}" are larger than the XCom inline limit; mapped items must fit in it` };
    if (encoded > 0 && task.map!.zip) return { problem: `${what} holds items that are not plain JSON (Date, Map…); zip() over such lists is not supported yet` };
    if (length === null) return { problem: `${what} is ${type === 'object' ? 'an object' : type === 'null' ? 'null' : `a ${type}`}, not an array` };
    return { length };
  });
}

/**
 * An instance of a mapped task with `maxActiveTisPerTask` ended for good: the next one
 * waiting for a slot is enqueued, in the same transaction.
 */
export async function releaseMappedSlot(client: PoolClient, dagRunId: number, structure: DagStructure, task: TaskStructure, mapIndex: number, changes: RunChanges): Promise<void> {
  if (!task.map || task.maxActiveTisPerTask === null) return;
  const next = await sql<Required<InstanceRow>>(client, 'select_scheduled_instances', [dagRunId, task.id, mapIndex]);
  if (next.length === 0) return;
  await enqueueTaskInstances(client, dagRunId, structure, next.map((ti) => ti.id), changes);
  changes.instances(dagRunId, next, 'queued');
}

/**
 * The values of upstream XComs as a task receives them: an unmapped upstream's value, or a
 * mapped upstream's list of its instances' values in map_index order (empty when none).
 */
export function upstreamValues<V>(structure: DagStructure, rows: Array<{ task_id: string; key: string; value: V }>, refs: Array<{ taskId: string; key: string }>): Map<string, V | V[]> {
  const values = new Map<string, V | V[]>();
  for (const ref of refs) if (taskOf(structure, ref.taskId).map) values.set(`${ref.taskId}\0${ref.key}`, []);
  for (const row of rows) {
    const ref = `${row.task_id}\0${row.key}`;
    if (taskOf(structure, row.task_id).map) (values.get(ref) as V[] | undefined)?.push(row.value);
    else values.set(ref, row.value);
  }
  return values;
}
