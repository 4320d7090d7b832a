import type { Pool, PoolClient } from 'pg';
import { recordTaskAssetEvents } from '../assets/events.js';
import { decode, type EncodedValue } from '../xcom/codec.cjs';
import type { StoredXCom, XComItem } from '../xcom/values.js';
import type { DagStructure, TaskStructure } from '../dags/structure.js';
import { leafTaskIds, taskOf } from '../dags/versions.js';
import { inTransactionRetryingConflicts } from '../db/transaction.js';
import { RunChanges } from '../live/notifications.js';
import { addDeferredJob, admitLeftover, admitPending, DEFAULT_POOL, deferJob, enqueueTaskInstances, needAdmission, onlyDueJob, scopeOf } from './capacity.js';
import { claimTaskInstances, type Claim } from './claims.js';
import { releaseMappedSlot, startTaskInstances } from './mapping.js';
import { retryDelayMs } from './retry.js';
import { sql } from './sql.js';
import type { Skip } from './flow.js';
import { isWaiting } from './states.js';
import { startQueuedRuns } from '../run-queue.js';
import { evaluateTriggerRule, type UpstreamOutcome } from './trigger-rules.js';

/** How a try ended. `value` is the task's return value, encoded (xcom/codec.cjs; undefined: none). */
export type TryOutcome =
  /** `skip`: what a branch, short-circuit or latest-only task skips (executor/flow.ts). */
  | { kind: 'success'; value: EncodedValue | undefined; skip?: Skip }
  /** The task threw `SkipError`: skipped, never retried. */
  | { kind: 'skipped'; reason: string }
  /** A reschedule-mode sensor found nothing yet: checked again at `nextCheckAt`, without using up a retry. */
  | { kind: 'rescheduled'; nextCheckAt: Date }
  | {
      kind: 'failed';
      error: { name: string; message: string; stack?: string };
      retryable: boolean;
      /** Not the task's doing (the worker shut down): retried at once, without using up a retry. */
      interrupted?: boolean;
    };

/** A successful outcome's value, decoded (for branches, short-circuits and sensors, which look at it). */
export function outcomeValue(outcome: Extract<TryOutcome, { kind: 'success' }>): unknown {
  return outcome.value === undefined ? undefined : decode(outcome.value.encoding, outcome.value.text);
}

/** The outcome of a try whose task threw: `SkipError` skips, anything else fails. */
export function thrownOutcome(error: { name: string; message: string; stack?: string }, retryable: boolean): TryOutcome {
  if (error.name === 'SkipError') return { kind: 'skipped', reason: error.message };
  return { kind: 'failed', error: { name: error.name, message: error.message, stack: error.stack }, retryable: retryable && error.name !== 'NonRetryableError' };
}

export interface LogLine {
  seq: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
  loggedAt: Date;
}

/** Log lines as the column arrays the SQL statements unnest: seq, level, message, fields (JSON text), logged at. */
export function logColumns(logs: LogLine[]): unknown[] {
  return [
    logs.map((l) => l.seq),
    logs.map((l) => l.level),
    logs.map((l) => l.message),
    logs.map((l) => (l.fields === undefined ? null : JSON.stringify(l.fields))),
    logs.map((l) => l.loggedAt),
  ];
}

export interface FinishedTry {
  taskState: 'success' | 'skipped' | 'failed' | 'up_for_retry' | 'up_for_reschedule';
  /** The run's final state when this try ended it. */
  runState: 'success' | 'failed' | null;
  /** The next task instance's try, claimed for this worker to run at once (ContinueWith). */
  next?: Claim;
}

/** What finishTry() records: a try, how it ended, and what it returned and logged. */
export interface FinishArgs {
  dagRunId: number;
  taskInstanceId: string;
  tryId: string;
  tryNumber: number;
  maxTries: number;
  structure: DagStructure;
  task: TaskStructure;
  outcome: TryOutcome;
  logs: LogLine[];
  /** Where a successful outcome's value was stored (xcom/values.ts placeValue); null: none. */
  xcom?: StoredXCom | null;
  /** The value's items, when a list that is not inline plain JSON was split for a mapped task (splitItems). */
  items?: XComItem[] | null;
  /** The graphile-worker job that ran the try, if any: deleted when its worker continues (continueWith). */
  jobId?: string | null;
}

/**
 * A worker that may run the next task instance itself, in the slot the finished try frees:
 * when a try ends alone (a batch of one) and leaves exactly one instance runnable now, in
 * one of `queues`, that instance is claimed for `workerId` in the finishing transaction and
 * its job deleted with the finished try's, so it starts without a queue hop (see
 * ARCHITECTURE.md, "Continuing on the same worker"). If the worker dies, its tries are
 * recovered from heartbeats as any other's.
 */
export interface ContinueWith {
  workerId: string;
  queues: readonly string[];
}

/**
 * Records how a try ended and moves the run forward, in one transaction: the try and
 * task instance states, the XCom, the log lines, the downstream task instances that
 * became runnable (enqueued as jobs) or can no longer run, and the run's own end.
 * Returns null when the try had already been ended elsewhere.
 */
export async function finishTry(pool: Pool, args: FinishArgs): Promise<FinishedTry | null> {
  const [result] = await finishTries(pool, [args]);
  return result ?? null;
}

/**
 * finishTry() for several tries at once, in one transaction (a group commit: see
 * finish-group.ts), each result at its try's index. Tries of one run that end together
 * lock and count their downstream instances once, and the run's end is checked once:
 * a wide join is locked once per batch instead of once per try, and one COMMIT is
 * flushed for all. Any error rolls back every try of the batch.
 */
export async function finishTries(pool: Pool, batch: FinishArgs[], continueWith?: ContinueWith): Promise<Array<FinishedTry | null>> {
  const continuing = continueWith && batch.length === 1 ? continueWith : undefined;
  return inRunTransaction(pool, async (client, changes) => {
    if (continuing) deferJob(changes, continuing.queues);
    const results = await finishInTransaction(client, batch, changes);
    if (continuing) {
      const next = results[0] ? await continueRun(client, batch[0]!, continuing, changes) : undefined;
      if (next) results[0]!.next = next;
      else await addDeferredJob(client, changes);
    }
    return results;
  });
}

/**
 * Claims the one instance the finishing transaction made runnable now, when there is exactly
 * one (ContinueWith); it was queued without a job (capacity.ts, deferJob), and the finished
 * try's job goes too.
 */
async function continueRun(client: PoolClient, finished: FinishArgs, to: ContinueWith, changes: RunChanges): Promise<Claim | undefined> {
  const job = onlyDueJob(changes);
  if (!job || !to.queues.includes(job.queue)) return undefined;
  const [claim] = await claimTaskInstances(client, to.workerId, [{ taskInstanceId: job.taskInstanceId, jobId: null }]);
  if (!claim) return undefined;
  const jobIds = [job.jobId, finished.jobId].filter((id): id is string => id !== null && id !== undefined);
  if (jobIds.length > 0) await sql(client, 'delete_jobs', [jobIds]);
  return claim;
}

/**
 * A transaction that moves runs and task instances on (inTransactionRetryingConflicts): `fn`
 * records what it changed in `changes` (a new one each attempt), and the COMMIT announces it
 * to live subscribers, one notification per run.
 */
export async function inRunTransaction<T>(pool: Pool, fn: (client: PoolClient, changes: RunChanges) => Promise<T>): Promise<T> {
  let changes = new RunChanges();
  const result = await inTransactionRetryingConflicts(
    pool,
    (client) => fn(client, (changes = new RunChanges())),
    () => changes.notifications(),
  );
  await admitLeftover(pool, changes); // capacity.ts: what it gated past its own admission
  return result;
}

/** A try recorded by finishTries(), which its run must move on from. */
interface Recorded {
  index: number;
  args: FinishArgs;
  taskState: FinishedTry['taskState'];
  mapIndex: number;
}

// Lock order, within one batch as for a single try: the tries' own task instances (in id
// order), then each run's downstream instances (runs in id order), then pools and DAG
// limits, then the run rows (in id order).
async function finishInTransaction(client: PoolClient, batch: FinishArgs[], changes: RunChanges): Promise<Array<FinishedTry | null>> {
  const results: Array<FinishedTry | null> = batch.map(() => null);
  const recorded: Recorded[] = [];
  for (const index of [...batch.keys()].sort((a, b) => compareIds(batch[a]!.taskInstanceId, batch[b]!.taskInstanceId))) {
    const args = batch[index]!;
    const ended = await recordTry(client, args, changes);
    if (ended) recorded.push({ index, args, ...ended });
  }
  const runs = new Map<number, Recorded[]>();
  for (const done of recorded) {
    const { args, taskState } = done;
    if (taskState === 'up_for_retry' || taskState === 'up_for_reschedule') {
      await enqueueTaskInstances(client, args.dagRunId, args.structure, [args.taskInstanceId], changes);
      results[done.index] = { taskState, runState: null };
      continue;
    }
    // An asset is updated by a success only, recorded with it (Airflow: not by a failure or a skip).
    if (taskState === 'success' && args.task.outlets) {
      await recordTaskAssetEvents(client, { dagId: args.structure.id, dagRunId: args.dagRunId, taskId: args.task.id, mapIndex: done.mapIndex, outlets: args.task.outlets });
    }
    await releaseMappedSlot(client, args.dagRunId, args.structure, args.task, done.mapIndex, changes);
    const ofRun = runs.get(args.dagRunId);
    if (ofRun) ofRun.push(done);
    else runs.set(args.dagRunId, [done]);
  }
  const byRun = [...runs].sort(([a], [b]) => a - b);
  const pending = new Map<number, number>();
  for (const [dagRunId, ended] of byRun) {
    const finished: Finished[] = [];
    for (const { args, taskState } of ended) finished.push(...(await endedWith(client, args, taskState, changes)));
    pending.set(dagRunId, await scheduleDownstream(client, dagRunId, ended[0]!.args.structure, finished, changes));
  }
  // After the task instances, before the run rows: the lock order.
  await admitPending(client, changes);
  for (const [dagRunId, ended] of byRun) {
    // A run with a downstream instance just enqueued or still waiting cannot be over: only
    // finishers that leave none take the run-row lock, so wide runs do not queue on it.
    const runState = pending.get(dagRunId)! > 0 ? null : await finishRunIfDone(client, dagRunId, ended[0]!.args.structure, changes);
    // The run's end goes to one of its tries, whose worker runs the DAG's callback.
    ended.forEach((done, i) => (results[done.index] = { taskState: done.taskState, runState: i === ended.length - 1 ? runState : null }));
  }
  return results;
}

/** Task instance ids (bigint text) in numeric order. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Ends the try and its task instance (finish_try.sql); null when it was no longer running. */
async function recordTry(client: PoolClient, args: FinishArgs, changes: RunChanges): Promise<Omit<Recorded, 'index' | 'args'> | null> {
  const { outcome, task } = args;
  let taskState: FinishedTry['taskState'];
  let nextTryAt: Date | null = null;
  const interrupted = outcome.kind === 'failed' && outcome.interrupted === true;
  if (outcome.kind === 'success' || outcome.kind === 'skipped') taskState = outcome.kind;
  else if (outcome.kind === 'rescheduled') {
    taskState = 'up_for_reschedule';
    nextTryAt = outcome.nextCheckAt;
  } else if (interrupted) {
    taskState = 'up_for_retry';
    nextTryAt = new Date();
  } else if (outcome.retryable && args.tryNumber < args.maxTries) {
    taskState = 'up_for_retry';
    nextTryAt = new Date(Date.now() + retryDelayMs(task, args.tryNumber + 1));
  } else taskState = 'failed';

  const error = outcome.kind === 'failed' ? JSON.stringify(outcome.error) : null;
  const tryState = taskState === 'up_for_retry' ? 'failed' : taskState;
  const extraTry = interrupted || taskState === 'up_for_reschedule';
  const xcom = outcome.kind === 'success' ? args.xcom : null;
  const { logs } = args;
  const updated = await sql<{ id: string; map_index: number; gated: boolean }>(client, 'finish_try', [
    args.tryId,
    tryState,
    error,
    taskState,
    nextTryAt,
    xcom?.json ?? null,
    xcom?.size_bytes ?? 0,
    ...logColumns(logs),
    extraTry ? 1 : 0,
    xcom?.encoding ?? null,
    xcom?.serialized ?? null,
    xcom?.blob_key ?? null,
    xcom?.blob_sha256 ?? null,
    xcom && args.items ? args.items.length : null,
  ]);
  if (updated.length === 0) return null;
  if (xcom && args.items && args.items.length > 0) {
    const { items } = args;
    await sql(client, 'insert_xcom_items', [args.taskInstanceId, items.map((_, i) => i), items.map((i) => i.json), items.map((i) => i.serialized)]);
  }
  changes.instances(args.dagRunId, updated.map((ti) => ({ id: ti.id, map_index: ti.map_index, task_id: task.id, try_number: args.tryNumber })), taskState);
  // The slots it held are free: what waits for them may start (admitPending).
  if (updated[0]!.gated) needAdmission(changes, scopeOf(args.structure, [task.pool ?? DEFAULT_POOL]));
  return { taskState, mapIndex: updated[0]!.map_index };
}

/**
 * What a recorded try's end tells its downstream tasks: its own outcome, and for a branch
 * or short-circuit, the tasks it skipped (skipped here, in their own right).
 */
async function endedWith(client: PoolClient, args: FinishArgs, taskState: FinishedTry['taskState'], changes: RunChanges): Promise<Finished[]> {
  const { outcome, task } = args;
  const outcomeState = taskState as UpstreamOutcome;
  const skip = outcome.kind === 'success' ? outcome.skip : undefined;
  if (!skip) return [{ taskId: task.id, outcome: outcomeState }];
  const skipped = await skipTasks(client, args.dagRunId, 'all' in skip ? descendantIds(args.structure, task.id) : skip.direct, changes);
  return [
    { taskId: task.id, outcome: outcomeState, onlyTo: 'all' in skip ? [] : task.downstreamIds.filter((id) => !skip.direct.includes(id)) },
    // Skipping everything downstream leaves nothing to tell.
    ...skipped.map((taskId) => ({ taskId, outcome: 'skipped' as const, ...('all' in skip ? { onlyTo: [] } : {}) })),
  ];
}

/**
 * Ends a try that finishTry() cannot end (see abandon_try.sql): the try and its task
 * instance fail, and so does the run. Returns false when the try was no longer running.
 */
export async function abandonTry(pool: Pool, tryId: string, error: { name: string; message: string }): Promise<boolean> {
  const [updated] = await sql(pool, 'abandon_try', [tryId, JSON.stringify(error)]);
  return updated !== undefined;
}

/** A task instance that ended; `onlyTo` limits the downstream tasks its outcome is counted into. */
export interface Finished {
  taskId: string;
  outcome: UpstreamOutcome;
  onlyTo?: string[];
}

/**
 * Skips the task instances of `taskIds` that have not started (whatever their trigger
 * rules), locking them in id order first; returns the task ids it skipped.
 */
async function skipTasks(client: PoolClient, dagRunId: number, taskIds: string[], changes: RunChanges): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const locked = await sql<{ id: string; task_id: string }>(client, 'lock_task_instances', [dagRunId, taskIds]);
  const skipped = await setTaskStates(client, dagRunId, locked.map((ti) => ti.id), 'skipped', changes);
  return skipped.map((ti) => ti.task_id);
}

/** Every task downstream of `taskId`, transitively. */
function descendantIds(structure: DagStructure, taskId: string): string[] {
  const seen = new Set<string>();
  const stack = [...taskOf(structure, taskId).downstreamIds];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...taskOf(structure, id).downstreamIds);
  }
  return [...seen];
}

/**
 * Counts the outcomes of `finished` task instances into their downstream instances and
 * evaluates those instances' trigger rules (decide): starts the ones that may run and ends
 * the ones that never will, then follows the ones it ended. Returns how many downstream
 * instances it left pending (started, or still waiting for other upstreams).
 */
export async function scheduleDownstream(client: PoolClient, dagRunId: number, structure: DagStructure, finished: Finished[], changes: RunChanges): Promise<number> {
  let pending = 0;
  while (finished.length > 0) {
    const tally = new Map<string, Record<UpstreamOutcome, number>>();
    for (const { taskId, outcome, onlyTo } of finished) {
      for (const downstreamId of onlyTo ?? taskOf(structure, taskId).downstreamIds) {
        const counts = tally.get(downstreamId) ?? { success: 0, skipped: 0, failed: 0, upstream_failed: 0 };
        counts[outcome]++;
        tally.set(downstreamId, counts);
      }
    }
    if (tally.size === 0) break;
    const taskIds = [...tally.keys()];
    const counted = await sql<CountedInstance>(client, 'count_upstream_outcomes', [
      dagRunId,
      taskIds,
      ...(['success', 'skipped', 'failed', 'upstream_failed'] as const).map((k) => taskIds.map((id) => tally.get(id)![k])),
    ]);
    const decided = await decide(client, dagRunId, structure, counted, changes);
    pending += decided.pending;
    finished = decided.ended;
  }
  return pending;
}

/** A task instance with its upstream counts, as count_upstream_outcomes.sql returns them. */
export interface CountedInstance {
  id: string;
  task_id: string;
  map_index: number;
  state: string;
  upstream_success_count: number;
  upstream_skipped_count: number;
  upstream_failed_count: number;
  upstream_upstream_failed_count: number;
  upstream_extra_count: number;
  try_number: number;
}

/**
 * Evaluates the trigger rules of (locked) task instances from their counts: starts the
 * waiting ones that may run, ends the ones that never will. Returns how many it left
 * pending and the ones it ended, whose downstream instances must hear of it.
 */
export async function decide(
  client: PoolClient,
  dagRunId: number,
  structure: DagStructure,
  counted: CountedInstance[],
  changes: RunChanges,
): Promise<{ pending: number; ended: Finished[] }> {
  let pending = 0;
  const next = { run: [] as CountedInstance[], upstream_failed: [] as CountedInstance[], skipped: [] as CountedInstance[] };
  for (const ti of counted) {
    if (!isWaiting(ti.state)) continue;
    const task = taskOf(structure, ti.task_id);
    // A task without upstreams has nothing to wait for (a root, cleared).
    const outcome =
      task.upstreamIds.length === 0
        ? 'run'
        : evaluateTriggerRule(task.triggerRule, {
            total: task.upstreamIds.length + ti.upstream_extra_count,
            success: ti.upstream_success_count,
            skipped: ti.upstream_skipped_count,
            failed: ti.upstream_failed_count,
            upstreamFailed: ti.upstream_upstream_failed_count,
          });
    if (outcome === 'wait') pending++;
    else next[outcome].push(ti);
  }
  const { started, ended } = await startTaskInstances(client, dagRunId, structure, next.run, changes);
  pending += started;
  for (const state of ['upstream_failed', 'skipped'] as const) {
    if (next[state].length > 0) await setTaskStates(client, dagRunId, next[state].map((ti) => ti.id), state, changes);
  }
  return {
    pending,
    ended: [
      ...next.upstream_failed.map((ti) => ({ taskId: ti.task_id, outcome: 'upstream_failed' as const })),
      ...next.skipped.map((ti) => ({ taskId: ti.task_id, outcome: 'skipped' as const })),
      ...ended,
    ],
  };
}

/** Ends the run when nothing in it can still run; returns its final state, if it ended. */
export async function finishRunIfDone(client: PoolClient, dagRunId: number, structure: DagStructure, changes: RunChanges): Promise<'success' | 'failed' | null> {
  await sql(client, 'lock_dag_run', [dagRunId]);
  const [ended] = await sql<{ state: 'success' | 'failed'; dag_id: string }>(client, 'finish_dag_run', [dagRunId, leafTaskIds(structure), structure.failRunOnAnyFailure]);
  if (!ended) return null;
  changes.run(dagRunId, ended.state);
  // A slot freed: a run waiting `queued` (maxActiveRuns, a backfill's limit) starts now.
  await startQueuedRuns(client, ended.dag_id, changes);
  return ended.state;
}

/** Ends task instances that will not run (`upstream_failed`, `skipped`); returns those it ended. */
export async function setTaskStates(client: PoolClient, dagRunId: number, ids: string[], state: 'upstream_failed' | 'skipped', changes: RunChanges) {
  const ended = await sql<{ id: string; task_id: string; map_index: number; try_number: number }>(client, 'set_task_states', [ids, state]);
  changes.instances(dagRunId, ended, state);
  return ended;
}
