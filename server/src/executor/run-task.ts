import type { MaintenanceAccess } from '@updraft/sdk';
import type { Pool } from 'pg';
import type { BundleLoader } from '../bundle/loader.js';
import type { DagStructure, TaskStructure } from '../dags/structure.js';
import { loadStructure, taskOf } from '../dags/versions.js';
import { retryWhileDatabaseFails } from '../db/retry.js';
import { coerceError, isConnectionError, isDataError } from '../errors.js';
import type { SecretKeySource } from '../secrets/key.js';
import type { SecretMasker } from '../secrets/masking.js';
import { execute, runCallback, taskCallbackFor, type TryIo } from './execute.js';
import { flowOf, latestOnlyOutcome } from './flow.js';
import { upstreamValues } from './mapping.js';
import { sense } from './sensor.js';
import { sql } from './sql.js';
import type { TaskProcessPool } from './task-processes.js';
import { outsideTaskConsole } from './task-console.js';
import { TrySecrets } from './task-secrets.js';
import type { Claim } from './claims.js';
import type { GroupCommit } from './group-commit.js';
import { abandonTry, type FinishArgs, type FinishedTry, type LogLine, type TryOutcome } from './transitions.js';
import { TryLog, type LoggedLine, type LogLimits } from './try-log.js';
import type { ArgPayload } from '../xcom/codec.cjs';
import { placeValue, readValueText, splitItems, XComUnreadable, type StoredXCom, type XComItem, type XComSettings } from '../xcom/values.js';

/** Payload of a `run_task` job: one job per runnable task instance. */
export interface RunTaskPayload {
  taskInstanceId: string;
}

/** Something that happened to a try, for logs and tests. */
export type TryEvent =
  | { kind: 'log'; dagId: string; taskId: string; tryNumber: number; line: LogLine }
  | { kind: 'finished'; dagId: string; dagRunId: number; taskId: string; mapIndex: number; tryNumber: number; durationMs: number; result: FinishedTry };

export interface RunTaskDeps {
  pool: Pool;
  bundles: BundleLoader;
  processes: TaskProcessPool;
  workerId: string;
  /** Memory of a task process unless the task sets its own, in MB. */
  memoryLimitMb: number;
  /** After a timeout or an interruption aborts a task's signal, how long it may take to return. */
  killGraceMs: number;
  /**
   * The tries this worker holds (claimed, not yet recorded), each with the controller that
   * stops it; its heartbeat reports them, and aborts those an operator stopped (stop.ts).
   */
  holding: Map<string, AbortController>;
  /** Aborted when the worker stops waiting for running tries: they end as `WorkerShutdown`. */
  interrupt: AbortSignal;
  /** Aborted when the worker is forced to stop: recording stops waiting for the database. */
  forced: AbortSignal;
  /** The key that decrypts secret variables and stored connections for tasks. */
  secretKey: SecretKeySource;
  /** Where `UPDRAFT_CONN_<ID>` connections are read: the worker's environment. */
  connectionEnv: NodeJS.ProcessEnv;
  /** How much one try may log. */
  logLimits: LogLimits;
  /** Where XCom values go (inline or the object store) and how large they may be. */
  xcom: XComSettings;
  /** Claims task instances (claim_task_instances.sql), grouped: null when the instance is not runnable. */
  claims: GroupCommit<{ taskInstanceId: string; jobId: string }, Claim | null>;
  /** Records tries' outcomes (finishTries), grouped. */
  finishes: GroupCommit<FinishArgs, FinishedTry | null>;
  /** The retention engine and lost-worker recovery for in-process tasks of `dagId` (the maintenance DAGs). */
  maintenance: (dagId: string) => MaintenanceAccess;
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
  let claim = await retryWhileDatabaseFails(() => deps.claims.add({ taskInstanceId: payload.taskInstanceId, jobId }), deps.forced);
  // The job that ran the first try; the tries this worker continues with have none (transitions.ts, ContinueWith).
  let job: string | null = jobId;
  while (claim) {
    const { try_id: tryId } = claim;
    const stop = new AbortController();
    deps.holding.set(tryId, stop);
    try {
      // The try's signal: the worker's shutdown, or an operator's stop of this try.
      claim = await runClaimed({ ...deps, interrupt: AbortSignal.any([deps.interrupt, stop.signal]) }, claim, job);
    } finally {
      deps.holding.delete(tryId);
    }
    job = null;
  }
}

/** Runs a claimed try and records it; returns the next try this worker claimed to run at once, if any. */
async function runClaimed(deps: RunTaskDeps, claim: Claim, jobId: string | null): Promise<Claim | null> {
  const claimedAt = Date.now();
  // What the try reads of variables and connections, and the masker that hides it: every
  // line the try logs (its own, console.*, raw output, the worker's) passes through TryLog, which masks it.
  const secrets = new TrySecrets({ pool: deps.pool, secretKey: deps.secretKey, env: deps.connectionEnv, forced: deps.forced });
  const { masker } = secrets;
  // A listener that prints the line (updraft start) must print it, not log it to the try again.
  const tryLog = new TryLog(deps.pool, claim.try_id, masker, (line) => {
    if (deps.onEvent) outsideTaskConsole(() => deps.onEvent!({ kind: 'log', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, line }));
  }, deps.logLimits);
  const log = (line: LoggedLine) => tryLog.add(line);
  const io: TryIo = { log, secrets };

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
      const args = await retryWhileDatabaseFails(() => resolveArgs(deps, claim, loaded, task), deps.forced);
      const check = () => execute(deps, claim, loaded, task, args, io);
      if (task.kind?.type === 'sensor') {
        const [first] = await retryWhileDatabaseFails(() => sql<{ started_at: Date }>(deps.pool, 'select_first_try_start', [claim.task_instance_id]), deps.forced);
        const run = { firstCheckAt: first!.started_at, tryNumber: claim.try_number, interrupt: deps.interrupt, log: (message: string) => log({ level: 'info', message, fields: undefined }) };
        outcome = await sense(task.kind, run, check);
      } else outcome = flowOf(task, await check());
    }
  } catch (e) {
    // Loading the structure, the bundle or the arguments failed for good.
    const error = coerceError(e);
    if (error instanceof XComUnreadable) outcome = { kind: 'failed', error: { name: error.name, message: `Task "${claim.task_id}" cannot start: ${error.message}` }, retryable: false };
    else outcome = { kind: 'failed', error: { name: 'TaskSetupFailed', message: `could not prepare the try: ${error.message}`, stack: error.stack }, retryable: true };
  }
  if (outcome.kind === 'failed') log({ level: 'error', message: `Try ${claim.try_number} failed: ${outcome.error.message}`, fields: undefined });
  if (outcome.kind === 'skipped') log({ level: 'info', message: `Skipped: ${outcome.reason}`, fields: undefined });
  if (outcome.kind === 'success' && outcome.skip) {
    const what = 'all' in outcome.skip ? 'every task downstream' : outcome.skip.direct.length > 0 ? outcome.skip.direct.join(', ') : 'nothing';
    log({ level: 'info', message: `Skipping ${what}`, fields: undefined });
  }
  const callback = known && taskCallbackFor(known, outcome, claim);
  if (structure && known && callback) await runCallback(deps, claim, structure, known, callback, io);

  // Lines not yet written go with the finishing transaction.
  const result = await record(deps, claim, jobId, structure, maskOutcome(outcome, masker), await tryLog.settle(deps.forced), tryLog.seq, masker);
  const runCallbacks = structure?.runCallbacks;
  if (result?.runState && structure && known && runCallbacks?.includes(result.runState === 'success' ? 'onSuccess' : 'onFailure')) {
    // The try is recorded: what the DAG's callback logs is added to its lines afterwards.
    await runCallback(deps, claim, structure, known, { runState: result.runState }, io);
    await tryLog.writeRest(deps.forced).catch((e: unknown) =>
      deps.onEvent?.({ kind: 'log', dagId: claim.dag_id, taskId: claim.task_id, tryNumber: claim.try_number, line: { seq: -1, level: 'error', message: masker.mask(`could not store the DAG callback's log lines: ${coerceError(e).message}`), fields: undefined, loggedAt: new Date() } }),
    );
  }
  if (result) {
    const durationMs = Date.now() - claimedAt;
    deps.onEvent?.({ kind: 'finished', dagId: claim.dag_id, dagRunId: claim.dag_run_id, taskId: claim.task_id, mapIndex: claim.map_index, tryNumber: claim.try_number, durationMs, result });
  }
  return result?.next ?? null;
}

/**
 * Records the try's outcome. The outcome exists only in this process until then, and a
 * redelivered job cannot record it (the claim refuses a running instance), so: losing the
 * database retries until it answers (unless the worker is forced to stop); values
 * PostgreSQL refuses fail the try as `ResultNotStorable`; and any other persistent error
 * records a bare failure, and failing that, abandons the try (abandon_try.sql). A try
 * left `running` by a forced stop is ended by the sweep (recovery.ts).
 */
async function record(deps: RunTaskDeps, claim: Claim, jobId: string | null, structure: DagStructure | undefined, outcome: TryOutcome, logs: LogLine[], nextSeq: number, masker: SecretMasker): Promise<FinishedTry | null> {
  let xcom: StoredXCom | null = null;
  let items: XComItem[] | null = null;
  if (outcome.kind === 'success' && outcome.value !== undefined) {
    const encoded = outcome.value;
    const where = { dagId: claim.dag_id, dagRunId: claim.dag_run_id, taskId: claim.task_id, mapIndex: claim.map_index, tryId: claim.try_id };
    try {
      xcom = await retryWhileDatabaseFails(() => placeValue(deps.pool, deps.xcom, encoded, where), deps.forced);
    } catch (e) {
      const message = masker.mask(`Task "${claim.task_id}" returned a value of ${encoded.bytes} bytes that could not be put in the XCom object store: ${coerceError(e).message}`);
      outcome = { kind: 'failed', error: { name: 'ResultNotStorable', message }, retryable: true };
      logs = [...logs, { seq: nextSeq++, level: 'error', message, fields: undefined, loggedAt: new Date() }];
    }
    // A list PostgreSQL cannot split (not inline plain JSON) that a mapped task maps over: split
    // here. Unsplittable (an item over the inline limit): the mapped task fails saying so.
    if (xcom && xcom.json === null && structure && isMappedOver(structure, claim.task_id)) {
      try {
        items = splitItems(encoded, deps.xcom.inlineMaxBytes) ?? null;
      } catch {
        items = null;
      }
    }
  }
  const finish = async (outcome: TryOutcome, logs: LogLine[]) => {
    const loaded = structure ?? (structure = await loadStructure(deps.pool, claim.dag_version_id));
    return deps.finishes.add({
      dagRunId: claim.dag_run_id,
      taskInstanceId: claim.task_instance_id,
      tryId: claim.try_id,
      tryNumber: claim.try_number,
      maxTries: claim.max_tries,
      structure: loaded,
      task: taskOf(loaded, claim.task_id),
      outcome,
      logs,
      xcom,
      items,
      jobId,
    });
  };
  try {
    return await retryWhileDatabaseFails(() => finish(outcome, logs), deps.forced);
  } catch (e) {
    // Log lines are storable by construction, so they are kept when the values were refused.
    // (Lines written while the try ran stay in any case.)
    const refused = isDataError(e);
    // A refusal's message may quote the refused value.
    const reason = masker.mask(refused ? `could not store the try's result: ${coerceError(e).message}` : `could not record the try: ${coerceError(e).message}`);
    const failed: TryOutcome = { kind: 'failed', error: { name: refused ? 'ResultNotStorable' : 'RecordFailed', message: reason }, retryable: true };
    const kept = refused ? logs : [];
    const note: LogLine = { seq: refused ? nextSeq : (logs[0]?.seq ?? nextSeq), level: 'error', message: reason, fields: undefined, loggedAt: new Date() };
    try {
      return await retryWhileDatabaseFails(() => finish(failed, [...kept, note]), deps.forced);
    } catch (again) {
      if (isConnectionError(again)) throw again; // forced to stop while the database is away: the sweep ends it later
      await retryWhileDatabaseFails(() => abandonTry(deps.pool, claim.try_id, { name: 'RecordFailed', message: masker.mask(`${reason}; then: ${coerceError(again).message}`) }), deps.forced);
      return { taskState: 'failed', runState: 'failed' };
    }
  }
}

/** Whether a mapped task maps over this task's output (not only a mapped task's own instances). */
function isMappedOver(structure: DagStructure, taskId: string): boolean {
  if (taskOf(structure, taskId).map) return false; // a mapped task's values are items already
  return structure.tasks.some((t) => t.map?.sources.some((s) => 'xcom' in s && s.xcom.taskId === taskId));
}

/** The text an outcome stores (a failure's message and stack, a skip's reason), masked. */
function maskOutcome(outcome: TryOutcome, masker: SecretMasker): TryOutcome {
  if (outcome.kind === 'failed') return { ...outcome, error: { ...masker.maskError(outcome.error), name: masker.mask(outcome.error.name) } };
  if (outcome.kind === 'skipped') return { ...outcome, reason: masker.mask(outcome.reason) };
  return outcome;
}

/**
 * The task's arguments, as stored (decoded where the task runs): a mapped instance's item
 * first, then upstream values (read from the object store for blobs) and literals.
 */
async function resolveArgs(deps: RunTaskDeps, claim: Claim, structure: DagStructure, task: TaskStructure): Promise<ArgPayload[]> {
  const refs = task.args.flatMap((arg) => ('xcom' in arg ? [arg.xcom] : []));
  type Row = StoredXCom & { task_id: string; map_index: number; key: string };
  const rows = refs.length > 0 ? await sql<Row>(deps.pool, 'select_xcom_args', [claim.dag_run_id, refs.map((r) => r.taskId)]) : [];
  const texts = await Promise.all(
    rows.map(async (row) => ({
      ...row,
      value: await readValueText(deps.xcom.store, row, `the output of task "${row.task_id}"${row.map_index >= 0 ? ` [${row.map_index}]` : ''}${row.key === 'return_value' ? '' : ` (${row.key})`}`),
    })),
  );
  const values = upstreamValues(structure, texts, refs);
  const args = task.args.map((arg): ArgPayload => {
    if ('value' in arg) return { value: arg.value };
    const found = values.get(`${arg.xcom.taskId}\0${arg.xcom.key}`);
    if (found === undefined) return {};
    return Array.isArray(found) ? { list: found } : { encoded: found };
  });
  if (!task.map) return args;
  if (claim.map_index < 0) throw new Error(`task "${task.id}" is mapped, but this instance has no item (it was not expanded)`);
  const item: ArgPayload = claim.map_item_serialized === null ? { value: claim.map_item } : { encoded: { encoding: 'devalue', text: claim.map_item_serialized } };
  return [item, ...args];
}

