import type { Pool, PoolClient } from 'pg';
import type { DagStructure } from './dags/structure.js';
import { manualInterval, timetableOf, type DataInterval } from './dags/timetable.js';
import { resolveParams } from './dags/params.js';
import { loadStructure } from './dags/versions.js';
import { inTransaction } from './db/transaction.js';
import { badInput, notFound } from './errors.js';
import { RunChanges } from './live/notifications.js';
import { sql } from './executor/sql.js';
import { admitPending, DEFAULT_POOL } from './executor/capacity.js';
import { startTaskInstances } from './executor/mapping.js';
import { finishRunIfDone, scheduleDownstream } from './executor/transitions.js';

export interface TriggerInput {
  dagId: string;
  /** JSON object handed to the run's tasks as `context().conf`. */
  conf?: unknown;
  /**
   * The run's logical date (a manual run's default: now, to the microsecond). Its data
   * interval is the one Airflow infers for a manual run at that date (timetable.ts).
   */
  logicalDate?: Date | null;
}

/** Largest run `conf`, as JSON text in UTF-8 bytes. It is stored with the run and handed to every task. */
export const MAX_CONF_BYTES = 1024 * 1024;
/** Deepest nesting of objects/arrays in a run `conf` (the conf object itself is level 1). */
export const MAX_CONF_DEPTH = 64;
/** Longest DAG id accepted (Airflow's limit). */
export const MAX_DAG_ID_LENGTH = 250;
/** DagRun ids are PostgreSQL `integer`s. */
const MAX_RUN_ID = 2_147_483_647;

/** Starts a manual run of the DAG's newest version now. Returns the run id. */
export async function triggerDagRun(pool: Pool, input: TriggerInput): Promise<number> {
  checkDagId(input.dagId);
  if (input.logicalDate && Number.isNaN(input.logicalDate.getTime())) throw badInput('logicalDate is not a valid date');
  const id = await createDagRun(pool, { ...input, runType: 'manual', logicalDate: input.logicalDate ?? null });
  if (id === null) throw badInput(`DAG "${input.dagId}" already has a run at logical date ${input.logicalDate?.toISOString() ?? 'now'}; give another logicalDate`);
  return id;
}

/** A DagRun id given as text (a GraphQL ID, a CLI argument): digits only, 1 to 2147483647. */
export function parseDagRunId(id: string | number): number {
  const text = String(id);
  if (!/^[1-9][0-9]*$/.test(text)) throw badInput(`${quote(text)} is not a DagRun id: ids are positive integers`);
  const n = Number(text);
  if (text.length > 10 || n > MAX_RUN_ID) throw badInput(`${quote(text)} is not a DagRun id: ids are at most ${MAX_RUN_ID}`);
  return n;
}

/** Refuses DAG ids that cannot name a DAG, so that PostgreSQL never sees them (it refuses NUL in text). */
export function checkDagId(dagId: string): void {
  checkId('DAG', dagId);
}

/** Refuses task ids that cannot name a task, as checkDagId does DAG ids (the same limits apply). */
export function checkTaskId(taskId: string): void {
  checkId('task', taskId);
}

function checkId(what: 'DAG' | 'task', id: string): void {
  if (id.length === 0 || id.length > MAX_DAG_ID_LENGTH) throw badInput(`${quote(id)} is not a ${what} id: ${what} ids have 1 to ${MAX_DAG_ID_LENGTH} characters`);
  if (id.includes('\u0000')) throw badInput(`${quote(id)} is not a ${what} id: it contains a NUL character (\\u0000)`);
}

/**
 * Checks that `conf` can be stored as a run's conf: a JSON object (only strings, finite
 * numbers, booleans, null, arrays and plain objects) nested at most MAX_CONF_DEPTH levels,
 * no NUL character or lone surrogate in any string or key (PostgreSQL's jsonb refuses both),
 * and at most MAX_CONF_BYTES as JSON. Iterative, so any nesting is refused without recursing.
 */
export function checkConf(conf: unknown, name = 'conf'): asserts conf is Record<string, unknown> {
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw badInput(`${name} must be a JSON object, got ${Array.isArray(conf) ? 'an array' : describe(conf)}`);
  }
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: conf, path: name, depth: 1 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string') {
      checkText(value, path);
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw badInput(`${path} is ${value}, which JSON cannot represent`);
    } else if (typeof value === 'object' && value !== null) {
      if (depth > MAX_CONF_DEPTH) throw badInput(`${name} is nested more than ${MAX_CONF_DEPTH} levels deep (at ${truncate(path)})`);
      if (Array.isArray(value)) {
        value.forEach((element, i) => stack.push({ value: element, path: `${path}[${i}]`, depth: depth + 1 }));
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw badInput(`${truncate(path)} is not a plain JSON object`);
        for (const [key, element] of Object.entries(value)) {
          checkText(key, `a key in ${path}`);
          stack.push({ value: element, path: `${path}.${key}`, depth: depth + 1 });
        }
      }
    } else if (typeof value !== 'boolean' && value !== null) {
      throw badInput(`${truncate(path)} is ${describe(value)}, which is not a JSON value`);
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(conf));
  if (bytes > MAX_CONF_BYTES) throw badInput(`${name} is ${bytes} bytes as JSON; the limit is ${MAX_CONF_BYTES} (1 MiB)`);
}

function checkText(text: string, where: string): void {
  if (text.includes('\u0000')) throw badInput(`${truncate(where)} contains a NUL character (\\u0000), which PostgreSQL cannot store`);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    throw badInput(`${truncate(where)} contains a lone UTF-16 surrogate, which PostgreSQL cannot store`);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `the bigint ${value}`;
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  return truncate(JSON.stringify(value) ?? String(value));
}

/** Quotes user text for an error message, cut to a readable length. */
function quote(text: string): string {
  return JSON.stringify(truncate(text));
}

function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** How a run is created: by whom, at which logical date and data interval. */
export interface NewRun extends TriggerInput {
  runType: 'manual' | 'scheduled' | 'backfill' | 'asset_triggered';
  /** Null: now (a manual run). */
  logicalDate: Date | null;
  /** Default: a scheduled run's is given; a manual run's is inferred from its logical date. */
  dataInterval?: DataInterval;
  /** The backfill the run belongs to: it starts `queued`, within the backfill's maxActiveRuns. */
  backfillId?: number;
}

/**
 * Creates a DagRun on the DAG's newest version in one transaction (insertDagRun). Returns the
 * run id, or null when the DAG already has a run for `logicalDate` (runs are unique per date).
 */
export async function createDagRun(pool: Pool, input: NewRun): Promise<number | null> {
  const conf = input.conf ?? {};
  checkConf(conf);
  const changes = new RunChanges();
  return inTransaction(pool, async (client) => (await insertDagRun(client, input, changes))?.id ?? null, () => changes.notifications());
}

/**
 * Creates a DagRun within the caller's transaction, with a task instance per task. It starts
 * (`running`, its tasks without upstreams and `always` tasks started) when the DAG has fewer
 * than maxActiveRuns runs running, and otherwise waits `queued` until one ends
 * (run-queue.ts); a backfill's runs always start queued. Locks the DAG's row. Null when the
 * DAG already has a run for the logical date.
 */
export async function insertDagRun(client: PoolClient, input: NewRun, changes: RunChanges): Promise<{ id: number; state: 'running' | 'queued'; logicalDate: Date } | null> {
  const conf = input.conf ?? {};
  checkConf(conf);
  const [dag] = await sql<DagState>(client, 'select_dag_state', [input.dagId]);
  if (!dag || dag.dag_version_id === null) throw notFound(`DAG "${input.dagId}" does not exist; deploy it first (\`updraft deploy <dir>\`)`);
  if (!dag.is_active) throw badInput(`DAG "${input.dagId}" is no longer in the deployed DAG folder; deploy its file again to run it`);
  if (dag.paused && input.runType !== 'backfill') throw badInput(`DAG "${input.dagId}" is paused; unpause it to trigger runs`);
  const structure = await loadStructure(client, dag.dag_version_id);
  // Checked before the run exists: a conf that does not match creates nothing.
  const params = structure.paramsSchema ? resolveParams(input.dagId, structure.paramsSchema, conf) : null;
  let state: 'running' | 'queued' = 'queued';
  if (input.backfillId === undefined) {
    const [{ running }] = (await sql<{ running: number }>(client, 'count_running_runs', [input.dagId])) as [{ running: number }];
    if (running < dag.max_active_runs) state = 'running';
  }
  let interval = input.dataInterval;
  if (!interval && input.logicalDate) interval = manualInterval(timetableOf(dag.schedule, dag.timezone, dag.start_date), input.logicalDate);
  if (!interval && dag.schedule !== null && dag.schedule !== '@once') interval = manualInterval(timetableOf(dag.schedule, dag.timezone, dag.start_date), new Date());
  const [run] = await sql<{ id: number; dag_version_id: number; logical_date: Date }>(client, 'create_dag_run', [
    input.dagId,
    input.runType,
    JSON.stringify(conf),
    input.logicalDate,
    dag.dag_version_id,
    params === null ? null : JSON.stringify(params),
    state,
    interval?.start ?? null,
    interval?.end ?? null,
    input.backfillId ?? null,
  ]);
  if (!run) return null;
  changes.run(run.id, state);
  const created = await sql<{ id: string; task_id: string; map_index: number }>(client, 'create_task_instances', [
    run.id,
    structure.tasks.map((t) => t.id),
    structure.tasks.map((t) => t.retries + 1),
    structure.tasks.map((t) => t.queue ?? 'default'),
    structure.tasks.map((t) => t.pool ?? DEFAULT_POOL),
    structure.tasks.map((t) => t.poolSlots ?? 1),
    structure.tasks.map((t) => t.priorityWeight ?? 1),
  ]);
  if (state === 'running') {
    const roots = rootTaskIds(structure);
    await startRun(client, run.id, structure, created.filter((ti) => roots.includes(ti.task_id)), changes);
  }
  return { id: run.id, state, logicalDate: run.logical_date };
}

interface DagState {
  paused: boolean;
  is_active: boolean;
  schedule: string | null;
  timezone: string;
  start_date: Date | null;
  max_active_runs: number;
  dag_version_id: number | null;
}

/** Tasks that start when their run starts: those without upstreams, and `always` tasks (which do not wait for theirs: Airflow's rule). */
export function rootTaskIds(structure: DagStructure): string[] {
  return structure.tasks.filter((t) => t.upstreamIds.length === 0 || t.triggerRule === 'always').map((t) => t.id);
}

/** Starts a run's root task instances; a root mapped over an empty literal list ends at once, and what follows it may too. */
export async function startRun(client: PoolClient, dagRunId: number, structure: DagStructure, roots: Array<{ id: string; task_id: string; map_index: number }>, changes: RunChanges): Promise<void> {
  const { started, ended } = await startTaskInstances(client, dagRunId, structure, roots, changes);
  const pending = started + (await scheduleDownstream(client, dagRunId, structure, ended, changes));
  await admitPending(client, changes); // roots that wait for a pool's slots may start at once
  if (pending === 0) await finishRunIfDone(client, dagRunId, structure, changes);
}
