import type { Logger as TaskLogger, TaskContext } from '@updraft/sdk';
import type { Pool } from 'pg';
import type { BundleLoader } from '../bundle/loader.js';
import type { TaskStructure } from '../dags/structure.js';
import { loadStructure, taskOf } from '../dags/versions.js';
import { coerceError, isConnectionError, isDataError } from '../errors.js';
import { sql } from './sql.js';
import { finishTry, type FinishedTry, type LogLine, type TryOutcome } from './transitions.js';

/** Payload of a `run_task` job: one job per runnable task instance. */
export interface RunTaskPayload {
  taskInstanceId: string;
}

interface Claim {
  task_instance_id: string;
  dag_run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  try_id: string;
  dag_id: string;
  run_id: string;
  logical_date: Date;
  conf: Record<string, unknown>;
  dag_version_id: number;
  bundle_hash: string;
}

/** Something that happened to a try, for logs and tests. */
export type TryEvent =
  | { kind: 'log'; dagId: string; taskId: string; tryNumber: number; line: LogLine }
  | { kind: 'finished'; dagId: string; taskId: string; tryNumber: number; result: FinishedTry };

export interface RunTaskDeps {
  pool: Pool;
  bundles: BundleLoader;
  workerId: string;
  onEvent?: (event: TryEvent) => void;
  /** Aborted when the worker shuts down. */
  shutdown: AbortSignal;
}

/**
 * Runs one try of a task instance: claims it, runs the task function from the run's
 * pinned bundle with its upstream values, and records the outcome (see finishTry).
 */
export async function runTaskInstance(deps: RunTaskDeps, payload: RunTaskPayload): Promise<void> {
  const [claim] = await sql<Claim>(deps.pool, 'claim_task_instance', [payload.taskInstanceId, deps.workerId]);
  if (!claim) return;
  const structure = await retryWhileDatabaseFails(() => loadStructure(deps.pool, claim.dag_version_id), deps.shutdown);
  const task = taskOf(structure, claim.task_id);
  const logs: LogLine[] = [];
  const log = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    const line: LogLine = { seq: logs.length, level, message: withoutNul(String(message)), fields: storableFields(fields), loggedAt: new Date() };
    logs.push(line);
    deps.onEvent?.({ kind: 'log', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, line });
  };
  const logger: TaskLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

  let outcome: TryOutcome;
  try {
    const dag = await deps.bundles.dag(claim.bundle_hash, structure.fileName, structure.id);
    const args = await resolveArgs(deps.pool, claim.dag_run_id, task);
    const value = await withTimeout(task.timeoutMs, deps.shutdown, (signal) => {
      const ctx: TaskContext = {
        dagId: claim.dag_id,
        runId: claim.run_id,
        dagRunId: claim.dag_run_id,
        taskId: claim.task_id,
        mapIndex: claim.map_index,
        tryNumber: claim.try_number,
        maxTries: claim.max_tries,
        logicalDate: claim.logical_date,
        conf: claim.conf,
        params: claim.conf,
        log: logger,
        signal,
      };
      return dag.runTask(task.id, args, ctx);
    });
    outcome = { kind: 'success', valueJson: serializeReturnValue(task.id, value) };
  } catch (e) {
    const error = coerceError(e);
    logger.error(`Try ${claim.try_number} failed: ${error.message}`);
    outcome = {
      kind: 'failed',
      error: { name: error.name, message: error.message, stack: error.stack },
      retryable: error.name !== 'NonRetryableError',
    };
  }
  const finish = (outcome: TryOutcome) =>
    finishTry(deps.pool, {
      dagRunId: claim.dag_run_id,
      taskInstanceId: claim.task_instance_id,
      tryId: claim.try_id,
      tryNumber: claim.try_number,
      maxTries: claim.max_tries,
      structure,
      task,
      outcome,
      logs,
    });
  let result: FinishedTry | null;
  try {
    result = await retryWhileDatabaseFails(() => finish(outcome), deps.shutdown);
  } catch (e) {
    // PostgreSQL refused the value itself (a \u0000 in JSON, a value past its limits):
    // the try fails with the reason instead of staying `running` forever.
    if (!isDataError(e)) throw e;
    const reason = `could not store the try's result: ${coerceError(e).message}`;
    logger.error(reason);
    result = await retryWhileDatabaseFails(() => finish({ kind: 'failed', error: { name: 'ResultNotStorable', message: reason }, retryable: true }), deps.shutdown);
  }
  if (result) deps.onEvent?.({ kind: 'finished', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, result });
}

/**
 * The try's outcome exists only in this process until it is recorded, and a redelivered
 * job cannot record it (the claim refuses a running instance): so losing the database for
 * a while must not lose it. Retries until the database answers, backing off to 30 s; once
 * the worker is shutting down, gives up after the next failure (the try then stays
 * `running`: see "Not yet handled" in ARCHITECTURE.md).
 */
async function retryWhileDatabaseFails<T>(fn: () => Promise<T>, shutdown: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || shutdown.aborted) throw e;
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
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`Task "${taskId}" returned a value that is not JSON-serializable (${coerceError(e).message}); return plain data`);
  }
}

export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
}

async function withTimeout<T>(timeoutMs: number | null, shutdown: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onShutdown = () => controller.abort(new Error('the worker is shutting down'));
  shutdown.addEventListener('abort', onShutdown, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (timeoutMs === null) return;
    timer = setTimeout(() => {
      const error = new TaskTimeoutError(`the task ran longer than its timeout of ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([run(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
    shutdown.removeEventListener('abort', onShutdown);
  }
}
