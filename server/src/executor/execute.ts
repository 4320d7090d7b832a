import { MAINTENANCE_ACCESS, SECRETS_ACCESS, TaskTimeout, WorkerShutdown, type Logger as TaskLogger, type TaskContext } from '@updraft/sdk';
import type { DagStructure, TaskCallbackName, TaskStructure } from '../dags/structure.js';
import { retryWhileDatabaseFails } from '../db/retry.js';
import { coerceError } from '../errors.js';
import type { Claim } from './claims.js';
import type { RunTaskDeps } from './run-task.js';
import { operatorStop } from './stop.js';
import { withTaskConsole } from './task-console.js';
import { directAccess, type TrySecrets } from './task-secrets.js';
import { thrownOutcome, type LogLine, type TryOutcome } from './transitions.js';
import { decodeArg, encode, type ArgPayload } from '../xcom/codec.cjs';

// Running user code for a claimed try: the task's function (once per call), or one of its
// callbacks, in a task process or, for `isolation: 'none'`, in the worker's own process.

/** What user code of a try talks to: its log, and its variables and connections (which also mask the log). */
export interface TryIo {
  log(line: Pick<LogLine, 'level' | 'message' | 'fields'>): void;
  secrets: TrySecrets;
}

/** Runs the task's function once (or, with `callback`, one of its callbacks instead) and returns how that ended. */
export async function execute(
  deps: RunTaskDeps,
  claim: Claim,
  structure: DagStructure,
  task: TaskStructure,
  args: ArgPayload[],
  io: TryIo,
  callback?: Callback,
): Promise<TryOutcome> {
  const { log, secrets } = io;
  const context = {
    dagId: claim.dag_id,
    runId: claim.run_id,
    dagRunId: claim.dag_run_id,
    taskId: claim.task_id,
    mapIndex: claim.map_index,
    tryNumber: claim.try_number,
    maxTries: claim.max_tries,
    logicalDate: claim.logical_date,
    dataIntervalStart: claim.data_interval_start ?? claim.logical_date,
    dataIntervalEnd: claim.data_interval_end ?? claim.logical_date,
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
      context: {
        ...context,
        logicalDate: context.logicalDate.toISOString(),
        dataIntervalStart: context.dataIntervalStart.toISOString(),
        dataIntervalEnd: context.dataIntervalEnd.toISOString(),
      },
      timeoutMs: callback ? (task.timeoutMs ?? CALLBACK_TIMEOUT_MS) : task.timeoutMs,
      callback,
      memoryLimitMb: task.memoryLimitMb ?? deps.memoryLimitMb,
      maxResultBytes: deps.xcom.maxBytes,
      interrupt: deps.interrupt,
      onLog: log,
      lookup: (request) => secrets.ask(request),
      mask: (text) => secrets.masker.mask(text),
    });
  }

  const dag = await retryWhileDatabaseFails(() => deps.bundles.dag(claim.bundle_hash, structure.fileName, structure.id), deps.forced);
  const logger: TaskLogger = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (message: string, fields?: Record<string, unknown>) => log({ level, message, fields })]),
  ) as unknown as TaskLogger;
  try {
    const value = await inProcess(callback ? (task.timeoutMs ?? CALLBACK_TIMEOUT_MS) : task.timeoutMs, deps, (signal) =>
      withTaskConsole(log, () => {
        const access = { [SECRETS_ACCESS]: directAccess(secrets), [MAINTENANCE_ACCESS]: deps.maintenance(claim.dag_id) };
        const ctx = withAccess({ ...context, log: logger, signal } satisfies TaskContext, access);
        if (!callback) return dag.runTask(task.id, args.map(decodeArg), ctx);
        if ('runState' in callback) return dag.runDagCallback(withAccess({ ...ctx, state: callback.runState }, access));
        return dag.runCallback(task.id, callback.name, withAccess({ ...ctx, error: callback.error }, access));
      }),
    );
    return { kind: 'success', value: callback || value === undefined ? undefined : encode(value, `Task "${task.id}" returned a value that`, deps.xcom.maxBytes) };
  } catch (e) {
    const error = coerceError(e);
    // A task that gave up because its signal was aborted for a shutdown (or an operator's stop) is not to blame.
    if (error.name !== 'TaskTimeout' && deps.interrupt.aborted) {
      const stop = operatorStop(deps.interrupt);
      if (stop) return { kind: 'failed', error: { name: stop.name, message: stop.message }, retryable: false };
      return { kind: 'failed', error: { name: 'WorkerShutdown', message: error.message, stack: error.stack }, retryable: true, interrupted: true };
    }
    // A value that cannot be stored will not become storable on a retry.
    return thrownOutcome(error, (error as { retryable?: unknown }).retryable !== false);
  }
}

export type Callback = { name: TaskCallbackName; error?: { name: string; message: string } } | { runState: 'success' | 'failed' };

/** A callback without the task's own timeout gets this long. */
const CALLBACK_TIMEOUT_MS = 300_000;

/** The task callback an outcome calls for, if the task has it. */
export function taskCallbackFor(task: TaskStructure, outcome: TryOutcome, claim: Claim): Callback | undefined {
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
export async function runCallback(
  deps: RunTaskDeps,
  claim: Claim,
  structure: DagStructure,
  task: TaskStructure,
  callback: Callback,
  io: TryIo,
): Promise<void> {
  const { log } = io;
  const what = 'runState' in callback ? `the DAG's ${callback.runState === 'success' ? 'onSuccess' : 'onFailure'} callback` : `the ${callback.name} callback`;
  try {
    const ended = await execute(deps, claim, structure, task, [], io, callback);
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
      const error = operatorStop(deps.interrupt) ? (deps.interrupt.reason as Error) : new WorkerShutdown('the worker shut down while the try was running');
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

/** Puts the worker's capabilities (secrets, maintenance) in a context, not enumerable: `{ ...context() }` does not copy them into a value a task returns. */
function withAccess<C extends object>(ctx: C, access: Record<symbol, unknown>): C {
  for (const key of Object.getOwnPropertySymbols(access)) Object.defineProperty(ctx, key, { value: access[key] });
  return ctx;
}
