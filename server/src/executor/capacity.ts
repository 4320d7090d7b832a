import type { Pool, PoolClient } from 'pg';
import type { DagStructure } from '../dags/structure.js';
import type { RunChanges } from '../live/notifications.js';
import { sql } from './sql.js';
import { inRunTransaction } from './transitions.js';

/** The pool of every task not given one: unlimited until its slots are set. */
export const DEFAULT_POOL = 'default_pool';

/**
 * Capacity controls: pools of slots shared by every worker, and DAGs' `maxActiveTasks`.
 *
 * Enqueueing an instance (enqueue_task_instances.sql) decides whether a limit governs it:
 * its pool has slots (or does not exist), or its DAG has maxActiveTasks. Such an instance is
 * `gated`: it gets no job, but waits `scheduled` (a retry: `up_for_retry`) until an
 * admission pass queues it. Instances of unlimited pools — every task of a platform that set
 * no limit — are queued as before, with no lock and no extra statement.
 *
 * Admission runs at the end of the transactions that end gated instances or gate new ones
 * (the finish of a try), right after those that cannot take pool locks in order (creating a
 * run holds its DAG's row; operator actions hold the run's), plus a periodic pass
 * in every worker's recovery loop for what a path missed (a due retry, an abandoned try). It
 * locks the pool rows (in name order), then the DAGs' maxActiveTasks advisory locks (in id
 * order), counts what is held (from the instances' states: nothing to release by hand, no
 * count to drift), and queues the waiting instances that fit, highest priority weight first.
 * Lock order for a finisher: its task instances, then pools, then DAG limits, then its run.
 */

/** The limits an admission pass must look at. */
export interface Scope {
  pools: string[];
  dagIds: string[];
}

/** How many waiting instances of each pool and DAG one pass considers at most. */
const MAX_CANDIDATES = 1_000;

const pending = new WeakMap<RunChanges, { pools: Set<string>; dagIds: Set<string> }>();

/** Notes limits whose slots changed in the transaction of `changes`, for admitPending(). */
export function needAdmission(changes: RunChanges, scope: Scope): void {
  let noted = pending.get(changes);
  if (!noted) pending.set(changes, (noted = { pools: new Set(), dagIds: new Set() }));
  for (const p of scope.pools) noted.pools.add(p);
  for (const d of scope.dagIds) noted.dagIds.add(d);
}

/** The scope of a gated instance of `structure` in `pool`. */
export function scopeOf(structure: DagStructure, pools: string[]): Scope {
  return { pools, dagIds: structure.maxActiveTasks !== undefined ? [structure.id] : [] };
}

/**
 * Enqueues task instances of one run (enqueue_task_instances.sql): queued with their jobs,
 * or gated to wait for admission, which admitPending() does before the transaction ends.
 */
export async function enqueueTaskInstances(client: PoolClient, dagRunId: number, structure: DagStructure, ids: string[], changes: RunChanges): Promise<void> {
  if (ids.length === 0) return;
  const due = dueJobs.get(changes) ?? { count: 0 };
  // Only the transaction's first due instance may go without a job: a second one means no continuation.
  const deferTo = due.count === 0 ? due.continuingQueues : undefined;
  const [row] = await sql<{ gated_pools: string[]; due_count: number; due_job: [string, string | null, string] | null }>(client, 'enqueue_task_instances', [
    ids,
    structure.maxActiveTasks !== undefined,
    deferTo ?? null,
  ]);
  if (row && row.due_count > 0) {
    due.count += row.due_count;
    if (row.due_job) {
      const [taskInstanceId, jobId, queue] = row.due_job;
      due.job = { taskInstanceId, jobId, queue };
      if (jobId === null) due.deferred = due.job;
    }
    dueJobs.set(changes, due);
  }
  if (row && row.gated_pools.length > 0) {
    needAdmission(changes, scopeOf(structure, row.gated_pools));
    changes.more(dagRunId); // some are `scheduled`, not `queued`: subscribers read them anew
  }
}

/** A task instance a transaction queued, due now, with its job (null: deferred, see deferJob). */
export interface EnqueuedJob {
  taskInstanceId: string;
  jobId: string | null;
  queue: string;
}

/** What a transaction queued due now: how many, the last single one, and the one queued without a job. */
const dueJobs = new WeakMap<RunChanges, { count: number; job?: EnqueuedJob; continuingQueues?: readonly string[]; deferred?: EnqueuedJob }>();

/**
 * Lets the transaction of `changes` queue its first due instance without a job when it is the
 * only one in its statement and its queue is one of `queues`: the finishing worker means to
 * run it itself (transitions.ts, ContinueWith), so the job would be added, announced to every
 * worker with NOTIFY, and deleted in the same transaction. The transaction must then claim it
 * or call addDeferredJob() before it commits.
 */
export function deferJob(changes: RunChanges, queues: readonly string[]): void {
  dueJobs.set(changes, { ...(dueJobs.get(changes) ?? { count: 0 }), continuingQueues: queues });
}

/** The instance due now that the transaction of `changes` queued (enqueueTaskInstances), when it queued exactly one. */
export function onlyDueJob(changes: RunChanges): EnqueuedJob | undefined {
  const due = dueJobs.get(changes);
  return due?.count === 1 ? due.job : undefined;
}

/** Adds the job of the instance queued without one (deferJob), for the transaction that did not claim it. */
export async function addDeferredJob(client: PoolClient, changes: RunChanges): Promise<void> {
  const deferred = dueJobs.get(changes)?.deferred;
  if (deferred) await sql(client, 'add_deferred_job', [deferred.taskInstanceId]);
}

/**
 * Admits what the transaction's changes may have made room for (needAdmission). Call it
 * after the task instances are locked and before the run row is: the lock order.
 */
export async function admitPending(client: PoolClient, changes: RunChanges): Promise<void> {
  const noted = pending.get(changes);
  if (!noted) return;
  pending.delete(changes);
  await admit(client, { pools: [...noted.pools], dagIds: [...noted.dagIds] }, changes);
}

/**
 * After a transaction committed: admits what it noted but did not admit itself (instances it
 * gated after its own admission point, e.g. the roots of a run it started while holding a
 * run or DAG row, which come after pools in the lock order). A failure is left to the
 * periodic pass: the transaction has committed.
 */
export async function admitLeftover(pool: Pool, changes: RunChanges): Promise<void> {
  const noted = pending.get(changes);
  if (!noted) return;
  pending.delete(changes);
  await admitInTransaction(pool, { pools: [...noted.pools], dagIds: [...noted.dagIds] }).catch(() => undefined);
}

/** One admission pass over `scope`, in a transaction of its own (after operator actions, a pool's change). Returns how many it queued. */
export function admitInTransaction(pool: Pool, scope: Scope): Promise<number> {
  return inRunTransaction(pool, (client, changes) => admit(client, scope, changes));
}

/** The periodic pass: admits into every pool (and DAG limit) that has instances waiting. Returns how many it queued. */
export async function admitWaiting(pool: Pool): Promise<number> {
  const [row] = await sql<{ pools: string[] }>(pool, 'select_waiting_pools', []);
  if (!row || row.pools.length === 0) return 0;
  return admitInTransaction(pool, { pools: row.pools, dagIds: [] });
}

/**
 * Waits for an operator action's transaction, then admits into every pool with instances
 * waiting (the action may have freed slots, or gated what it restarted). Admission failing
 * does not fail the action, which has committed: the periodic pass admits them later.
 */
export async function admitAfter<T>(pool: Pool, action: Promise<T>): Promise<T> {
  const result = await action;
  await admitWaiting(pool).catch(() => undefined);
  return result;
}

/** Every limit a run of `structure` may hold slots of: the pools of its tasks, and its DAG's maxActiveTasks. */
export function structureScope(structure: DagStructure): Scope {
  return scopeOf(structure, [...new Set(structure.tasks.map((t) => t.pool ?? DEFAULT_POOL))]);
}

interface Candidate {
  id: string;
  dag_run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  pool: string;
  pool_slots: number;
  priority_weight: number;
  dag_id: string;
  max_active_tasks: number | null;
}

/** Locks the limits of `scope` (and of what waits in them), then queues the waiting instances that fit. Returns how many. */
async function admit(client: PoolClient, scope: Scope, changes: RunChanges): Promise<number> {
  const [wide] = await sql<{ pools: string[]; dag_ids: string[] }>(client, 'select_capacity_scope', [scope.pools, scope.dagIds]);
  if (!wide) return 0;
  const pools = await sql<{ name: string; slots: number | null }>(client, 'lock_pools', [wide.pools]);
  const dags = wide.dag_ids.length === 0 ? [] : await sql<{ dag_id: string; max_active_tasks: number | null }>(client, 'lock_dag_limits', [wide.dag_ids]);
  const usage = await sql<{ kind: 'pool' | 'dag'; name: string; used: number }>(client, 'select_capacity_usage', [pools.map((p) => p.name), dags.map((d) => d.dag_id)]);
  const used = new Map(usage.map((u) => [`${u.kind}:${u.name}`, u.used]));
  // Room left; Infinity for an unlimited pool or DAG.
  const room = new Map<string, number>();
  for (const p of pools) room.set(`pool:${p.name}`, p.slots === null ? Infinity : p.slots - (used.get(`pool:${p.name}`) ?? 0));
  for (const d of dags) room.set(`dag:${d.dag_id}`, d.max_active_tasks === null ? Infinity : d.max_active_tasks - (used.get(`dag:${d.dag_id}`) ?? 0));
  const most = Math.max(0, ...[...room.values()].map((r) => Math.min(r, MAX_CANDIDATES)));
  if (most <= 0) return 0;
  const candidates = await sql<Candidate>(client, 'select_waiting_instances', [pools.map((p) => p.name), dags.map((d) => d.dag_id), most]);
  const admitted: Candidate[] = [];
  for (const c of candidates) {
    // A pool that does not exist (or was not locked) has no room; nor has a limited DAG whose lock this pass does not hold.
    const poolRoom = room.get(`pool:${c.pool}`) ?? 0;
    const dagKey = `dag:${c.dag_id}`;
    const dagRoom = c.max_active_tasks === null ? Infinity : (room.get(dagKey) ?? 0);
    if (poolRoom < c.pool_slots || dagRoom < 1) continue;
    room.set(`pool:${c.pool}`, poolRoom - c.pool_slots);
    if (c.max_active_tasks !== null) room.set(dagKey, dagRoom - 1);
    admitted.push(c);
  }
  if (admitted.length === 0) return 0;
  const queued = await sql<{ id: string; dag_run_id: number; task_id: string; map_index: number; try_number: number }>(client, 'admit_task_instances', [admitted.map((c) => c.id)]);
  const byRun = new Map<number, typeof queued>();
  for (const ti of queued) byRun.set(ti.dag_run_id, [...(byRun.get(ti.dag_run_id) ?? []), ti]);
  for (const [dagRunId, tis] of byRun) changes.instances(dagRunId, tis, 'queued');
  return queued.length;
}
