import type { Pool } from 'pg';
import { latestEnded, nextInterval, timetableOf, type DataInterval, type ScheduleBounds, type Timetable } from './dags/timetable.js';
import { inTransaction } from './db/transaction.js';
import { sql } from './executor/sql.js';
import { RunChanges } from './live/notifications.js';
import { insertDagRun } from './runs.js';

// Which scheduled DAGs are due, and creating their runs. Each DAG's row holds the scheduler's
// cursor (Airflow's next_dagrun columns): the data interval of its next scheduled run, due
// when the interval ends. A scheduler creates a DAG's due runs and moves its cursor in one
// transaction holding the DAG's row lock, so any number of schedulers may run at once: a
// DAG another scheduler holds is skipped (SKIP LOCKED), and runs are unique per logical date
// besides. A scheduler that dies mid-transaction creates nothing and leaves the cursor as
// it was, for the others.

/** A scheduled, active, unpaused DAG, as the scheduler sees it between passes. */
export interface ScheduledDag {
  id: string;
  /** False: its timetable changed (or it is new) and its cursor must be computed. */
  planned: boolean;
  /** When its next run is due (its data interval's end); null: no more runs (when planned). */
  dueAt: Date | null;
}

/** Most runs one pass creates for one DAG (catchup after a long pause); the next pass goes on. */
export const MAX_RUNS_PER_PASS = 100;

/** The DAGs the scheduler creates runs for. */
export async function scheduledDags(pool: Pool): Promise<ScheduledDag[]> {
  const rows = await sql<{ id: string; next_run_planned: boolean; next_dagrun_create_after: Date | null }>(pool, 'select_scheduled_dags', []);
  return rows.map((r) => ({ id: r.id, planned: r.next_run_planned, dueAt: r.next_dagrun_create_after }));
}

/** Whether the scheduler has something to do for `dag` at `now`. */
export function isDue(dag: ScheduledDag, now: Date): boolean {
  return !dag.planned || (dag.dueAt !== null && dag.dueAt <= now);
}

/** What scheduling one DAG did. */
export interface ScheduleResult {
  /** Another scheduler holds the DAG (or it is no longer scheduled): nothing was done. */
  skipped: boolean;
  /** Runs created, with their logical dates. */
  created: Array<{ runId: number; logicalDate: Date }>;
  /** When the DAG's next run is due; null: no more runs. */
  dueAt: Date | null;
}

interface LockedDag {
  id: string;
  schedule: string;
  timezone: string;
  start_date: Date | null;
  end_date: Date | null;
  catchup: boolean;
  created_at: Date;
  next_run_planned: boolean;
  next_data_interval_start: Date | null;
  next_data_interval_end: Date | null;
}

/**
 * Creates the scheduled runs of `dagId` that are due at `now` (at most MAX_RUNS_PER_PASS) and
 * moves its cursor past them. Without catchup, an interval older than the latest that has
 * ended is never created: after a pause, or with no scheduler running, only the latest runs.
 */
export async function scheduleDag(pool: Pool, dagId: string, now: Date): Promise<ScheduleResult> {
  const changes = new RunChanges();
  return inTransaction(
    pool,
    async (client) => {
      const [dag] = await sql<LockedDag>(client, 'lock_scheduled_dag', [dagId]);
      if (!dag) return { skipped: true, created: [], dueAt: null };
      const timetable = timetableOf(dag.schedule, dag.timezone, dag.start_date)!;
      const bounds: ScheduleBounds = {
        // Without a startDate, catchup (and @once) start at the DAG's first deploy.
        startDate: dag.start_date ?? (dag.catchup || timetable.kind === 'once' ? dag.created_at : null),
        endDate: dag.end_date,
        catchup: dag.catchup,
      };
      let next: DataInterval | null;
      if (dag.next_run_planned) {
        next = dag.next_data_interval_start && dag.next_data_interval_end ? { start: dag.next_data_interval_start, end: dag.next_data_interval_end } : null;
      } else {
        const [last] = await sql<{ data_interval_start: Date | null; data_interval_end: Date | null; logical_date: Date }>(client, 'select_last_scheduled_run', [dagId]);
        const lastInterval = last ? { start: last.data_interval_start ?? last.logical_date, end: last.data_interval_end ?? last.logical_date } : null;
        next = nextInterval(timetable, lastInterval, bounds, now);
      }
      const created: ScheduleResult['created'] = [];
      while (next && next.end <= now && created.length < MAX_RUNS_PER_PASS) {
        next = skipMissed(timetable, next, bounds, now);
        const run = await insertDagRun(client, { dagId, runType: 'scheduled', logicalDate: next.start, dataInterval: next }, changes);
        // No run: one (manual) already has this logical date; the interval is taken all the same.
        if (run) created.push({ runId: run.id, logicalDate: run.logicalDate });
        next = following(timetable, next, bounds);
      }
      await sql(client, 'set_next_dagrun', [dagId, next?.start ?? null, next?.end ?? null]);
      return { skipped: false, created, dueAt: next?.end ?? null };
    },
    () => changes.notifications(),
  );
}

/** Without catchup, the latest interval that has ended when `interval` is older. */
function skipMissed(timetable: Timetable, interval: DataInterval, bounds: ScheduleBounds, now: Date): DataInterval {
  if (bounds.catchup || timetable.kind === 'once') return interval;
  const latest = latestEnded(timetable, now);
  if (latest.start <= interval.start || (bounds.endDate && latest.start > bounds.endDate)) return interval;
  return latest;
}

/** The interval after `interval`, or null past the DAG's endDate (and after `@once`'s only one). */
function following(timetable: Timetable, interval: DataInterval, bounds: ScheduleBounds): DataInterval | null {
  if (timetable.kind === 'once') return null;
  const start = interval.end;
  if (bounds.endDate && start > bounds.endDate) return null;
  return { start, end: timetable.next(start) };
}
