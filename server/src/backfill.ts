import type { Pool } from 'pg';
import { DEFAULT_MAX_ACTIVE_RUNS, MAX_ACTIVE_RUNS_LIMIT } from './dags/structure.js';
import { intervalsBetween, timetableOf } from './dags/timetable.js';
import { taskOf, loadStructure } from './dags/versions.js';
import { badInput, notFound } from './errors.js';
import { sql } from './executor/sql.js';
import { inRunTransaction } from './executor/transitions.js';
import { startQueuedRuns } from './run-queue.js';
import { checkDagId, insertDagRun } from './runs.js';

// Backfills (Airflow 3's): runs of type `backfill` for every interval of a DAG's schedule
// whose logical date lies in a range, created at once `queued` and started at most
// `maxActiveRuns` at a time (run-queue.ts), oldest first, apart from the DAG's own limit.

/** Which logical dates that already have a run a backfill runs again (Airflow's reprocess behaviour). */
export type Reprocess = 'none' | 'failed' | 'all';

export interface BackfillInput {
  dagId: string;
  /** First and last logical date of the range (both included). */
  from: Date;
  to: Date;
  /** Default `none`: dates that have a run are left alone. Runs still queued or running always are. */
  reprocess?: Reprocess;
  /** Most of the backfill's runs running at once. Default: the DAG's maxActiveRuns. */
  maxActiveRuns?: number | null;
  /** Who asked (an audit actor). */
  createdBy?: string;
}

/** Most runs one backfill may create: each is a run row and its task instances, written in one transaction. */
export const MAX_BACKFILL_RUNS = 10_000;

/**
 * Creates a backfill and its runs in one transaction, and starts the first ones. Returns its
 * id and how many runs it created or reprocessed.
 */
export async function createBackfill(pool: Pool, input: BackfillInput): Promise<{ backfillId: number; runsCreated: number }> {
  checkDagId(input.dagId);
  for (const [field, date] of [['from', input.from], ['to', input.to]] as const) {
    if (Number.isNaN(date.getTime())) throw badInput(`backfill ${field} is not a valid date`);
  }
  if (input.to < input.from) throw badInput(`backfill to (${input.to.toISOString()}) is before from (${input.from.toISOString()})`);
  const maxActiveRuns = input.maxActiveRuns ?? null;
  if (maxActiveRuns !== null && (!Number.isInteger(maxActiveRuns) || maxActiveRuns < 1 || maxActiveRuns > MAX_ACTIVE_RUNS_LIMIT)) {
    throw badInput(`backfill maxActiveRuns must be a whole number from 1 to ${MAX_ACTIVE_RUNS_LIMIT}, got ${maxActiveRuns}`);
  }
  const reprocess = input.reprocess ?? 'none';
  return inRunTransaction(pool, async (client, changes) => {
    const [dag] = await sql<{ is_active: boolean; schedule: string | null; timezone: string; start_date: Date | null; max_active_runs: number; dag_version_id: number | null }>(
      client,
      'select_dag_state',
      [input.dagId],
    );
    if (!dag || dag.dag_version_id === null) throw notFound(`DAG "${input.dagId}" does not exist; deploy it first (\`updraft deploy <dir>\`)`);
    if (!dag.is_active) throw badInput(`DAG "${input.dagId}" is no longer in the deployed DAG folder; deploy its file again to backfill it`);
    const timetable = timetableOf(dag.schedule, dag.timezone, dag.start_date);
    if (!timetable || timetable.kind === 'once') throw badInput(`DAG "${input.dagId}" has no recurring schedule (${dag.schedule ?? 'null'}), so it has no intervals to backfill`);
    const intervals = intervalsBetween(timetable, input.from, input.to, MAX_BACKFILL_RUNS);
    if (intervals.length > MAX_BACKFILL_RUNS) {
      throw badInput(`backfill from ${input.from.toISOString()} to ${input.to.toISOString()} spans more than ${MAX_BACKFILL_RUNS.toLocaleString('en')} intervals of "${dag.schedule}", the most one backfill may create; split the range`);
    }
    const [backfill] = (await sql<{ id: number }>(client, 'create_backfill', [
      input.dagId,
      input.from,
      input.to,
      reprocess,
      maxActiveRuns ?? dag.max_active_runs ?? DEFAULT_MAX_ACTIVE_RUNS,
      input.createdBy ?? null,
    ])) as [{ id: number }];
    const existing = new Map(
      (await sql<{ id: number; logical_date: Date; state: string }>(client, 'select_runs_at', [input.dagId, intervals.map((i) => i.start)])).map((r) => [r.logical_date.getTime(), r]),
    );
    let runsCreated = 0;
    for (const interval of intervals) {
      const run = existing.get(interval.start.getTime());
      if (!run) {
        if (await insertDagRun(client, { dagId: input.dagId, runType: 'backfill', logicalDate: interval.start, dataInterval: interval, backfillId: backfill.id }, changes)) runsCreated++;
        continue;
      }
      const again = (reprocess === 'all' && (run.state === 'success' || run.state === 'failed')) || (reprocess === 'failed' && run.state === 'failed');
      if (!again) continue;
      // Cleared as Airflow's clear does (tries kept), then queued as one of the backfill's runs.
      const [version] = await sql<{ dag_version_id: number }>(client, 'select_dag_run', [run.id]);
      const structure = await loadStructure(client, version!.dag_version_id);
      const instances = await sql<{ id: string; task_id: string }>(client, 'select_run_instances', [run.id]);
      await sql(client, 'clear_task_instances', [instances.map((ti) => ti.id), instances.map((ti) => taskOf(structure, ti.task_id).retries + 1)]);
      await sql(client, 'requeue_dag_run', [run.id, backfill.id]);
      changes.run(run.id, 'queued');
      changes.more(run.id);
      runsCreated++;
    }
    await sql(client, 'set_backfill_runs_created', [backfill.id, runsCreated]);
    await startQueuedRuns(client, input.dagId, changes);
    return { backfillId: backfill.id, runsCreated };
  });
}

/**
 * Cancels a backfill: its queued runs fail now (cancelled, their task instances skipped) and
 * none starts any more; its running runs go on to their end. Cancelling twice is harmless.
 */
export async function cancelBackfill(pool: Pool, backfillId: number): Promise<{ dagId: string; cancelledRuns: number }> {
  return inRunTransaction(pool, async (client, changes) => {
    const rows = await sql<{ dag_id: string; dag_run_id: number | null }>(client, 'cancel_backfill', [backfillId]);
    if (rows.length === 0) throw notFound(`Backfill ${backfillId} does not exist`);
    let cancelledRuns = 0;
    for (const { dag_run_id } of rows) {
      if (dag_run_id === null) continue;
      if ((await sql(client, 'cancel_dag_run', [dag_run_id])).length > 0) {
        changes.run(dag_run_id, 'failed');
        changes.more(dag_run_id);
        cancelledRuns++;
      }
    }
    return { dagId: rows[0]!.dag_id, cancelledRuns };
  });
}
