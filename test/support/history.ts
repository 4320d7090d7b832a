// Old history written straight into the tables (runs, task instances, tries, log lines, XCom),
// fast enough for hundreds of thousands of rows: what retention tests delete.
import type pg from 'pg';

export interface SeedOptions {
  dagId: string;
  /** Runs to write, ended evenly from `oldestDays` ago to `newestDays` ago. */
  runs: number;
  oldestDays: number;
  newestDays: number;
  tasksPerRun?: number;
  logLinesPerTry?: number;
}

/** Writes the DAG (if missing) with a version, then its old runs; returns their ids, oldest first. */
export async function seedHistory(pool: pg.Pool, opts: SeedOptions): Promise<number[]> {
  const tasks = opts.tasksPerRun ?? 2;
  const lines = opts.logLinesPerTry ?? 10;
  await pool.query(`INSERT INTO bundle (hash, code, size_bytes) VALUES ('seed', '', 0) ON CONFLICT DO NOTHING`);
  await pool.query(`INSERT INTO dag (id, source, file_name) VALUES ($1, 'seed', 'seed.ts') ON CONFLICT DO NOTHING`, [opts.dagId]);
  const version = await pool.query<{ id: number }>(
    `INSERT INTO dag_version (dag_id, version_number, bundle_hash, code_hash, structure_hash, structure)
     VALUES ($1, 1, 'seed', 'seed', 'seed', '{}') ON CONFLICT (dag_id, version_number) DO UPDATE SET code_hash = 'seed' RETURNING id`,
    [opts.dagId],
  );
  const runs = await pool.query<{ id: number }>(
    `INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, queued_at, started_at, ended_at)
     SELECT $1, $2, 'seed__' || gen_random_uuid(), 'scheduled', CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'success' END::"DagRunState",
            at - interval '1 minute', at - interval '1 minute', at - interval '1 minute', at
     FROM generate_series(1, $3::int) g, LATERAL (SELECT now() - ($4::float8 - ($4::float8 - $5::float8) * (g - 1) / greatest($3::int - 1, 1)) * interval '1 day' AS at) t
     ORDER BY g
     RETURNING id`,
    [opts.dagId, version.rows[0]!.id, opts.runs, opts.oldestDays, opts.newestDays],
  );
  const ids = runs.rows.map((r) => r.id);
  await pool.query(
    `INSERT INTO task_instance (dag_run_id, task_id, state, try_number, max_tries, started_at, ended_at)
     SELECT r.id, 't' || k, 'success', 1, 1, r.started_at, r.ended_at FROM dag_run r, generate_series(1, $2::int) k WHERE r.id = ANY($1::int[])`,
    [ids, tasks],
  );
  await pool.query(
    `INSERT INTO task_try (task_instance_id, try_number, state, worker_id, started_at, ended_at)
     SELECT ti.id, 1, 'success', 'seed-worker', ti.started_at, ti.ended_at FROM task_instance ti WHERE ti.dag_run_id = ANY($1::int[])`,
    [ids],
  );
  await pool.query(
    `INSERT INTO xcom (task_instance_id, value, size_bytes, created_at)
     SELECT ti.id, '"v"', 3, ti.ended_at FROM task_instance ti WHERE ti.dag_run_id = ANY($1::int[])`,
    [ids],
  );
  if (lines > 0) {
    await pool.query(
      `INSERT INTO task_log (task_try_id, seq, level, message, logged_at)
       SELECT t.id, s, 'info', 'line ' || s, t.started_at FROM task_try t JOIN task_instance ti ON ti.id = t.task_instance_id, generate_series(1, $2::int) s
       WHERE ti.dag_run_id = ANY($1::int[])`,
      [ids, lines],
    );
  }
  return ids;
}

/** Row counts of the tables retention deletes from. */
export async function tableCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const tables = ['dag_run', 'task_instance', 'task_try', 'xcom', 'task_log', 'audit_log', 'import_error', 'worker', 'scheduler'];
  const { rows } = await pool.query<Record<string, number>>(`SELECT ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`);
  return rows[0]!;
}
