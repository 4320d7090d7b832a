import { TaskTimeout, WorkerShutdown, type Logger as TaskLogger, type TaskContext } from '@updraft/sdk';
import type { Pool } from 'pg';
import type { BundleLoader } from '../bundle/loader.js';
import type { DagStructure, TaskCallbackName, TaskStructure } from '../dags/structure.js';
import { loadStructure, taskOf } from '../dags/versions.js';
import { coerceError, isConnectionError, isDataError } from '../errors.js';
import { flowOf, latestOnlyOutcome } from './flow.js';
import { sense } from './sensor.js';
import { sql } from './sql.js';
import type { TaskProcessPool } from './task-processes.js';
import { abandonTry, finishTry, logColumns, thrownOutcome, type FinishedTry, type LogLine, type TryOutcome } from './transitions.js';

/** Payload of a `run_task` job: one job per runnable task instance. */
export interface RunTaskPayload {
  taskInstanceId: string;
}

/** Lines a try may log; past them one line says how many more were dropped. */
export const MAX_LOG_LINES = 10_000;
/** Largest return value (JSON) a try may store, until large XCom goes to an object store. */
export const MAX_RESULT_BYTES = 32 * 1024 * 1024;

interface Claim {
  task_instance_id: string;
  dag_run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  try_id: string;
  first_started_at: Date;
  dag_id: string;
  run_id: string;
  run_type: string;
  logical_date: Date;
  conf: Record<string, unknown>;
  params: Record<string, unknown>;
  dag_version_id: number;
  bundle_hash: string;
}

/** Something that happened to a try, for logs and tests. */
export type TryEvent =
  | { kind: 'log'; dagId: string; taskId: string; tryNumber: number; line: LogLine }
  | { kind: 'finished'; dagId: string; dagRunId: number; taskId: string; tryNumber: number; durationMs: number; result: FinishedTry };

export interface RunTaskDeps {
  pool: Pool;
  bundles: BundleLoader;
  processes: TaskProcessPool;
  workerId: string;
  /** Memory of a task process unless the task sets its own, in MB. */
  memoryLimitMb: number;
  /** After a timeout or an interruption aborts a task's signal, how long it may take to return. */
  killGraceMs: number;
  /** The tries this worker holds (claimed, not yet recorded); its heartbeat reports them. */
  holding: Set<string>;
  /** Aborted when the worker stops waiting for running tries: they end as `WorkerShutdown`. */
  interrupt: AbortSignal;
  /** Aborted when the worker is forced to stop: recording stops waiting for the database. */
  forced: AbortSignal;
  onEvent?: (event: TryEvent) => void;
}

/**
 * Runs one try of a task instance: claims it, runs the task function from the run's
 * pinned bundle with its upstream values (in a task process, or in this process for
 * `isolation: 'none'`), and records the outcome (see finishTry). Whatever fails between
 * the claim and the record becomes the try's recorded failure: a claimed try always ends.
 */
export async function runTaskInstance(deps: RunTaskDeps, payload: RunTaskPayload, jobId: string): Promise<void> {
  // A claim lost with its connection is retried: if it had committed, the retry finds the
  // instance running and drops the job, and the sweep ends that try (no live worker holds it).
  const [claim] = await retryWhileDatabaseFails(() => sql<Claim>(deps.pool, 'claim_task_instance', [payload.taskInstanceId, deps.workerId, jobId]), deps.forced);
  if (!claim) return;
  deps.holding.add(claim.try_id);
  try {
    await runClaimed(deps, claim);
  } finally {
    deps.holding.delete(claim.try_id);
  }
}

async function runClaimed(deps: RunTaskDeps, claim: Claim): Promise<void> {
  const claimedAt = Date.now();
  const logs: LogLine[] = [];
  let dropped = 0;
  const log = (line: Pick<LogLine, 'level' | 'message' | 'fields'>) => {
    if (logs.length >= MAX_LOG_LINES) {
      dropped++;
      return;
    }
    const stored: LogLine = { seq: logs.length, level: line.level, message: withoutNul(String(line.message)), fields: storableFields(line.fields), loggedAt: new Date() };
    logs.push(stored);
    deps.onEvent?.({ kind: 'log', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, line: stored });
  };

  let structure: DagStructure | undefined;
  let known: TaskStructure | undefined;
  let outcome: TryOutcome;
  try {
    const loaded = await retryWhileDatabaseFails(() => loadStructure(deps.pool, claim.dag_version_id), deps.forced);
    structure = loaded;
    const task = taskOf(loaded, claim.task_id);
    known = task;
    if (task.kind?.type === 'latest_only') {
      outcome = latestOnlyOutcome(loaded, task, { runType: claim.run_type, logicalDate: claim.logical_date });
    } else {
      const args = await retryWhileDatabaseFails(() => resolveArgs(deps.pool, claim.dag_run_id, task), deps.forced);
      const check = () => execute(deps, claim, loaded, task, args, log);
      outcome =
        task.kind?.type === 'sensor'
          ? await sense(
              task.kind,
              { firstCheckAt: claim.first_started_at, tryNumber: claim.try_number, interrupt: deps.interrupt, log: (message) => log({ level: 'info', message, fields: undefined }) },
              check,
            )
          : flowOf(task, await check());
    }
  } catch (e) {
    // Loading the structure, the bundle or the arguments failed for good.
    const error = coerceError(e);
    outcome = { kind: 'failed', error: { name: 'TaskSetupFailed', message: `could not prepare the try: ${error.message}`, stack: error.stack }, retryable: true };
  }
  if (outcome.kind === 'failed') log({ level: 'error', message: `Try ${claim.try_number} failed: ${outcome.error.message}`, fields: undefined });
  if (outcome.kind === 'skipped') log({ level: 'info', message: `Skipped: ${outcome.reason}`, fields: undefined });
  if (outcome.kind === 'success' && outcome.skip) {
    const what = 'all' in outcome.skip ? 'every task downstream' : outcome.skip.direct.length > 0 ? outcome.skip.direct.join(', ') : 'nothing';
    log({ level: 'info', message: `Skipping ${what}`, fields: undefined });
  }
  const callback = known && taskCallbackFor(known, outcome, claim);
  if (structure && known && callback) await runCallback(deps, claim, structure, known, callback, log);
  if (dropped > 0) logs.push({ seq: logs.length, level: 'warn', message: `[log truncated: ${dropped} more line(s) past the limit of ${MAX_LOG_LINES}]`, fields: undefined, loggedAt: new Date() });

  const result = await record(deps, claim, structure, outcome, logs);
  const runCallbacks = structure?.runCallbacks;
  if (result?.runState && structure && known && runCallbacks?.includes(result.runState === 'success' ? 'onSuccess' : 'onFailure')) {
    // The try is recorded: what the DAG's callback logs is added to its lines afterwards.
    const before = logs.length;
    await runCallback(deps, claim, structure, known, { runState: result.runState }, log);
    const added = logs.slice(before);
    if (added.length > 0) {
      await retryWhileDatabaseFails(() => sql(deps.pool, 'append_try_logs', [claim.try_id, ...logColumns(added)]), deps.forced).catch((e) =>
        deps.onEvent?.({ kind: 'log', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, line: { seq: -1, level: 'error', message: `could not store the DAG callback's log lines: ${coerceError(e).message}`, fields: undefined, loggedAt: new Date() } }),
      );
    }
  }
  if (result) {
    const durationMs = Date.now() - claimedAt;
    deps.onEvent?.({ kind: 'finished', dagId: claim.dag_id, dagRunId: claim.dag_run_id, taskId: claim.task_id, tryNumber: claim.try_number, durationMs, result });
  }
}

/** Runs the task's function once (or, with `callback`, one of its callbacks instead) and returns how that ended. */
async function execute(
  deps: RunTaskDeps,
  claim: Claim,
  structure: DagStructure,
  task: TaskStructure,
  args: unknown[],
  log: (line: Pick<LogLine, 'level' | 'message' | 'fields'>) => void,
  callback?: Callback,
): Promise<TryOutcome> {
  const context = {
    dagId: claim.dag_id,
    runId: claim.run_id,
    dagRunId: claim.dag_run_id,
    taskId: claim.task_id,
    mapIndex: claim.map_index,
    tryNumber: claim.try_number,
    maxTries: claim.max_tries,
    logicalDate: claim.logical_date,
    conf: claim.conf,
    params: claim.params,
    idempotencyKey: idempotencyKey(claim),
  };
  if (task.isolation === 'process') {
    const bundleFile = await retryWhileDatabaseFails(() => deps.bundles.file(claim.bundle_hash), deps.forced);
    return deps.processes.run({
      tryId: claim.try_id,
      bundleFile,
      fileName: structure.fileName,
      dagId: structure.id,
      taskId: task.id,
      args,
      context: { ...context, logicalDate: context.logicalDate.toISOString() },
      timeoutMs: callback ? (task.timeoutMs ?? CALLBACK_TIMEOUT_MS) : task.timeoutMs,
      callback,
      memoryLimitMb: task.memoryLimitMb ?? deps.memoryLimitMb,
      maxResultBytes: MAX_RESULT_BYTES,
      interrupt: deps.interrupt,
      onLog: log,
    });
  }

  const dag = await retryWhileDatabaseFails(() => deps.bundles.dag(claim.bundle_hash, structure.fileName, structure.id), deps.forced);
  const logger: TaskLogger = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (message: string, fields?: Record<string, unknown>) => log({ level, message, fields })]),
  ) as unknown as TaskLogger;
  try {
    const value = await inProcess(callback ? (task.timeoutMs ?? CALLBACK_TIMEOUT_MS) : task.timeoutMs, deps, (signal) => {
      const ctx = { ...context, log: logger, signal } satisfies TaskContext;
      if (!callback) return dag.runTask(task.id, args, ctx);
      if ('runState' in callback) return dag.runDagCallback({ ...ctx, state: callback.runState });
      return dag.runCallback(task.id, callback.name, { ...ctx, error: callback.error });
    });
    return { kind: 'success', valueJson: callback ? undefined : serializeReturnValue(task.id, value) };
  } catch (e) {
    const error = coerceError(e);
    // A task that gave up because its signal was aborted for a shutdown is not to blame.
    if (error.name !== 'TaskTimeout' && deps.interrupt.aborted) {
      return { kind: 'failed', error: { name: 'WorkerShutdown', message: error.message, stack: error.stack }, retryable: true, interrupted: true };
    }
    return thrownOutcome(error, true);
  }
}

type Callback = { name: TaskCallbackName; error?: { name: string; message: string } } | { runState: 'success' | 'failed' };

/** A callback without the task's own timeout gets this long. */
const CALLBACK_TIMEOUT_MS = 300_000;

/** The task callback an outcome calls for, if the task has it. */
function taskCallbackFor(task: TaskStructure, outcome: TryOutcome, claim: Claim): Callback | undefined {
  let name: TaskCallbackName | undefined;
  let error: { name: string; message: string } | undefined;
  if (outcome.kind === 'success') name = 'onSuccess';
  else if (outcome.kind === 'skipped') name = 'onSkip';
  else if (outcome.kind === 'failed') {
    name = outcome.interrupted || (outcome.retryable && claim.try_number < claim.max_tries) ? 'onRetry' : 'onFailure';
    error = { name: outcome.error.name, message: outcome.error.message };
  }
  return name && task.callbacks?.includes(name) ? { name, error } : undefined;
}

/** Runs a callback; one that throws is logged and changes nothing. */
async function runCallback(
  deps: RunTaskDeps,
  claim: Claim,
  structure: DagStructure,
  task: TaskStructure,
  callback: Callback,
  log: (line: Pick<LogLine, 'level' | 'message' | 'fields'>) => void,
): Promise<void> {
  const what = 'runState' in callback ? `the DAG's ${callback.runState === 'success' ? 'onSuccess' : 'onFailure'} callback` : `the ${callback.name} callback`;
  try {
    const ended = await execute(deps, claim, structure, task, [], log, callback);
    if (ended.kind === 'failed') log({ level: 'error', message: `${what} failed: ${ended.error.name}: ${ended.error.message}`, fields: undefined });
  } catch (e) {
    log({ level: 'error', message: `${what} failed: ${coerceError(e).message}`, fields: undefined });
  }
}

/** Unique per task instance, the same on each of its tries. */
function idempotencyKey(claim: Claim): string {
  return [claim.dag_id, claim.run_id, claim.task_id, ...(claim.map_index >= 0 ? [String(claim.map_index)] : [])].join('/');
}

/**
 * Records the try's outcome. The outcome exists only in this process until then, and a
 * redelivered job cannot record it (the claim refuses a running instance), so: losing the
 * database retries until it answers (unless the worker is forced to stop); values
 * PostgreSQL refuses fail the try as `ResultNotStorable`; and any other persistent error
 * records a bare failure, and failing that, abandons the try (abandon_try.sql). A try
 * left `running` by a forced stop is ended by the sweep (recovery.ts).
 */
async function record(deps: RunTaskDeps, claim: Claim, structure: DagStructure | undefined, outcome: TryOutcome, logs: LogLine[]): Promise<FinishedTry | null> {
  const finish = async (outcome: TryOutcome, logs: LogLine[]) => {
    const loaded = structure ?? (structure = await loadStructure(deps.pool, claim.dag_version_id));
    return finishTry(deps.pool, {
      dagRunId: claim.dag_run_id,
      taskInstanceId: claim.task_instance_id,
      tryId: claim.try_id,
      tryNumber: claim.try_number,
      maxTries: claim.max_tries,
      structure: loaded,
      task: taskOf(loaded, claim.task_id),
      outcome,
      logs,
    });
  };
  try {
    return await retryWhileDatabaseFails(() => finish(outcome, logs), deps.forced);
  } catch (e) {
    // Log lines are storable by construction, so they are kept when the values were refused.
    const refused = isDataError(e);
    const reason = refused ? `could not store the try's result: ${coerceError(e).message}` : `could not record the try: ${coerceError(e).message}`;
    const failed: TryOutcome = { kind: 'failed', error: { name: refused ? 'ResultNotStorable' : 'RecordFailed', message: reason }, retryable: true };
    const kept = refused ? logs : [];
    const note: LogLine = { seq: kept.length, level: 'error', message: reason, fields: undefined, loggedAt: new Date() };
    try {
      return await retryWhileDatabaseFails(() => finish(failed, [...kept, note]), deps.forced);
    } catch (again) {
      if (isConnectionError(again)) throw again; // forced to stop while the database is away: the sweep ends it later
      await retryWhileDatabaseFails(() => abandonTry(deps.pool, claim.try_id, { name: 'RecordFailed', message: `${reason}; then: ${coerceError(again).message}` }), deps.forced);
      return { taskState: 'failed', runState: 'failed' };
    }
  }
}

/** Retries `fn` while the database is unreachable, backing off to 30 s, until `forced` is aborted. */
async function retryWhileDatabaseFails<T>(fn: () => Promise<T>, forced: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || forced.aborted) throw e;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 30_000)));
    }
  }
}

/** PostgreSQL text cannot hold NUL characters. */
function withoutNul(text: string): string {
  return text.replaceAll('\0', '\uFFFD');
}

/** Log fields as plain JSON data, decided when the line is logged (not when it is stored). */
function storableFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'string' ? withoutNul(value) : value))) as Record<string, unknown>;
  } catch (e) {
    return { unserializableFields: coerceError(e).message };
  }
}

async function resolveArgs(pool: Pool, dagRunId: number, task: TaskStructure): Promise<unknown[]> {
  const refs = task.args.flatMap((arg) => ('xcom' in arg ? [arg.xcom] : []));
  const values = new Map<string, unknown>();
  if (refs.length > 0) {
    const rows = await sql<{ task_id: string; key: string; value: unknown }>(pool, 'select_xcom_args', [dagRunId, refs.map((r) => r.taskId)]);
    for (const row of rows) values.set(`${row.task_id}\0${row.key}`, row.value);
  }
  return task.args.map((arg) => ('xcom' in arg ? (values.get(`${arg.xcom.taskId}\0${arg.xcom.key}`) ?? null) : arg.value));
}

/** The return value as JSON text, or undefined for a task that returned nothing. */
function serializeReturnValue(taskId: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`Task "${taskId}" returned a value that is not JSON-serializable (${coerceError(e).message}); return plain data`);
  }
  if (json !== undefined && Buffer.byteLength(json) > MAX_RESULT_BYTES) {
    throw Object.assign(new Error(`Task "${taskId}" returned ${Buffer.byteLength(json)} bytes of JSON; the most a return value may be is ${MAX_RESULT_BYTES} bytes`), { name: 'ResultNotStorable' });
  }
  return json;
}

/**
 * Runs an in-process task with its timeout: a try past its timeout fails with
 * `TaskTimeout` at once (its code cannot be stopped; it runs on unobserved), and an
 * interruption aborts its signal and gives it `killGraceMs` to return.
 */
async function inProcess<T>(timeoutMs: number | null, deps: RunTaskDeps, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let onInterrupt: (() => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    if (timeoutMs !== null) {
      timer = setTimeout(() => {
        const error = new TaskTimeout(`the task ran longer than its timeout of ${timeoutMs} ms`);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    }
    onInterrupt = () => {
      const error = new WorkerShutdown('the worker shut down while the try was running');
      controller.abort(error);
      graceTimer = setTimeout(() => reject(error), deps.killGraceMs);
    };
    if (deps.interrupt.aborted) onInterrupt();
    else deps.interrupt.addEventListener('abort', onInterrupt, { once: true });
  });
  try {
    return await Promise.race([run(controller.signal), ended]);
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    deps.interrupt.removeEventListener('abort', onInterrupt!);
  }
}
