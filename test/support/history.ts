// Old history written straight into the tables (runs, task instances, tries, log lines, XCom),
// fast enough for hundreds of thousands of rows: what retention tests delete.
import type pg from 'pg';
import { encode } from '../../server/src/xcom/codec.cjs';
import type { XComStore } from '../../server/src/xcom/store.js';
import { placeValue, XCOM_INLINE_MAX_BYTES } from '../../server/src/xcom/values.js';

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

/** The value `seedBlobs` gives a run's task instance: over the inline limit, with a Date and a Map. */
export const seededBlobValue = (runId: number, taskId: string) => ({
  runId,
  taskId,
  at: new Date(Date.UTC(2026, 0, 1) + runId * 1000),
  tags: new Map([['run', String(runId)]]),
  padding: `${runId}:`.padEnd(XCOM_INLINE_MAX_BYTES + 1024, 'x'),
});

/**
 * Gives every task instance of `runIds` a return value in the object store (`seededBlobValue`),
 * stored the way a try's finish stores it (placeValue, then the row, then its tombstone goes);
 * returns each run's blob keys.
 */
export async function seedBlobs(pool: pg.Pool, store: XComStore, runIds: number[]): Promise<Map<number, string[]>> {
  const settings = { store, inlineMaxBytes: XCOM_INLINE_MAX_BYTES, maxBytes: 1024 ** 3 };
  const { rows } = await pool.query<{ id: string; task_id: string; dag_id: string; dag_run_id: number; try_id: string }>(
    `SELECT x.id::text, ti.task_id, r.dag_id, r.id AS dag_run_id, t.id::text AS try_id FROM xcom x JOIN task_instance ti ON ti.id = x.task_instance_id
     JOIN dag_run r ON r.id = ti.dag_run_id JOIN task_try t ON t.task_instance_id = ti.id WHERE r.id = ANY($1::int[]) AND x.key = 'return_value'`,
    [runIds],
  );
  const keys = new Map<number, string[]>();
  for (const row of rows) {
    const encoded = encode(seededBlobValue(row.dag_run_id, row.task_id), 'a seeded value', settings.maxBytes);
    const stored = await placeValue(pool, settings, encoded, { dagId: row.dag_id, dagRunId: row.dag_run_id, taskId: row.task_id, mapIndex: -1, tryId: row.try_id });
    await pool.query(`UPDATE xcom SET value = NULL, serialized = NULL, encoding = $2, blob_key = $3, blob_sha256 = $4, size_bytes = $5 WHERE id = $1`, [
      row.id,
      stored.encoding,
      stored.blob_key,
      stored.blob_sha256,
      stored.size_bytes,
    ]);
    await pool.query('DELETE FROM xcom_blob_tombstone WHERE key = $1', [stored.blob_key]);
    keys.set(row.dag_run_id, [...(keys.get(row.dag_run_id) ?? []), stored.blob_key!]);
  }
  return keys;
}

/** Row counts of the tables retention deletes from. */
export async function tableCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const tables = ['dag_run', 'task_instance', 'task_try', 'xcom', 'task_log', 'audit_log', 'import_error', 'worker', 'scheduler'];
  const { rows } = await pool.query<Record<string, number>>(`SELECT ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`);
  return rows[0]!;
}
