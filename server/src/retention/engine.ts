import type { Pool } from 'pg';
import { coerceError } from '../errors.js';
import { DAG_TABLES, RETENTION_TABLES, REPORTED_TABLES, tableDays, type DeletedCounts, type RetentionPolicy, type RetentionTable } from './policy.js';
import { retentionSql, type RetentionStatement } from './sql.js';

/** An XCom row a pass deleted: its object-store blob (if any) may go now. */
export interface DeletedXCom {
  id: string;
  taskInstanceId: string;
  key: string;
  /** Where its value is in the object store; null for a value kept in its row. */
  blobKey: string | null;
}

/** What a pass may call while it runs. */
export interface RetentionHooks {
  /**
   * Called after each committed batch that deleted XCom rows (on their own or with their
   * runs), with those rows: where the object store deletes their blobs (`sweepDeletedBlobs()`).
   * A hook that throws stops the pass (recorded as its error); the rows stay deleted.
   */
  afterXComDeleted?: (rows: DeletedXCom[]) => Promise<void>;
}

/** One retention pass: what to delete, and how. */
export interface CleanOptions {
  /**
   * Delete rows older than this (ms) in every chosen table, whatever the policy and the DAGs'
   * own retention say (`updraft db clean --older-than`, the maintenance DAGs' `maxAgeDays`).
   * Without it, `policy` decides per table and each DAG's `retention.days` per DAG.
   */
  olderThanMs?: number;
  /** Used when `olderThanMs` is not given. */
  policy?: Pick<RetentionPolicy, 'defaultDays' | 'days'>;
  /** Only this DAG's rows (then only the tables of DAG_TABLES). */
  dagId?: string;
  /** Default: every table (with `dagId`: every table of a DAG). */
  tables?: readonly RetentionTable[];
  /** Keep the latest run (highest id) of each DAG, whatever its age. Default true. */
  keepLastPerDag?: boolean;
  /** Count what would be deleted and delete nothing (nor record a pass). */
  dryRun?: boolean;
  /** Rows per delete transaction. Default 1,000. */
  batchSize?: number;
  /** Who runs it, recorded with the pass: `cron`, `cli`, `dag:<dag id>`. */
  trigger: string;
  hooks?: RetentionHooks;
  /** Aborting stops the pass between two batches (a worker shutting down). */
  signal?: AbortSignal;
}

/** What a pass did (or, dry, would do). */
export interface RetentionResult {
  /** The `retention_pass` row; null for a dry run. */
  passId: number | null;
  dryRun: boolean;
  /** Rows deleted (or that would be) per table. */
  deleted: DeletedCounts;
  /**
   * Of the XCom rows deleted (or that would be), those whose value is in the object store:
   * their blobs are deleted with them (by the `afterXComDeleted` hook, or the next sweep).
   */
  blobs: number;
  /** Delete transactions run. */
  batches: number;
  /** The longest of them, in ms: the longest the pass held a row lock. */
  maxBatchMs: number;
  /** The statement of that longest batch (server/src/retention/sql/<name>.sql). */
  slowestStatement: string | null;
  durationMs: number;
  /** Set when the pass stopped early (aborted, a hook or a statement failed). */
  error: string | null;
}

/** A pass given bad options (an unknown DAG, a table that is not a DAG's with `dagId`). */
export class RetentionOptionsError extends TypeError {
  override name = 'RetentionOptionsError';
}

const DAY_S = 86_400;

/**
 * Runs one retention pass: deletes, table by table, the rows past their retention (see
 * CleanOptions), never a queued or running run or anything of one, nor the latest run of a
 * DAG unless `keepLastPerDag: false`. Every delete is one statement of at most `batchSize`
 * rows that locks only what it deletes and never waits for a lock (SKIP LOCKED: a row in use
 * is left for the next pass), so running work is neither blocked nor deadlocked. A real pass
 * is recorded in `retention_pass` as it starts and updated when it ends (also when it fails).
 */
export async function cleanDatabase(pool: Pool, opts: CleanOptions): Promise<RetentionResult> {
  const tables = checkTables(opts);
  if (opts.dagId !== undefined) {
    const found = await pool.query('SELECT 1 FROM dag WHERE id = $1', [opts.dagId]);
    if (found.rowCount === 0) throw new RetentionOptionsError(`there is no DAG ${JSON.stringify(opts.dagId.length > 100 ? `${opts.dagId.slice(0, 100)}…` : opts.dagId)}`);
  }
  const started = performance.now();
  await analyzeIfNeverAnalyzed(pool);
  const dryRun = opts.dryRun ?? false;
  const batchSize = opts.batchSize ?? 1_000;
  const keepLast = opts.keepLastPerDag ?? true;
  const useOverrides = opts.olderThanMs === undefined;
  const policy = opts.policy ?? { defaultDays: 30, days: {} };
  const ageS = (table: RetentionTable) => (opts.olderThanMs !== undefined ? opts.olderThanMs / 1000 : tableDays(policy, table) * DAY_S);
  const recorded = {
    tables,
    ...(opts.olderThanMs !== undefined ? { olderThanDays: opts.olderThanMs / 86_400_000 } : { days: Object.fromEntries(tables.map((t) => [t, tableDays(policy, t)])) }),
    ...(opts.dagId !== undefined ? { dagId: opts.dagId } : {}),
    keepLastPerDag: keepLast,
    batchSize,
  };
  const deleted = Object.fromEntries(REPORTED_TABLES.map((t) => [t, 0])) as DeletedCounts;
  const stats = { batches: 0, maxBatchMs: 0, slowestStatement: null as string | null, blobs: 0 };
  const passId = dryRun
    ? null
    : ((await pool.query<{ id: number }>('INSERT INTO retention_pass (trigger, policy) VALUES ($1, $2) RETURNING id', [opts.trigger, JSON.stringify(recorded)])).rows[0]!.id);

  /** One delete statement (one transaction), timed; returns its rows. */
  const batch = async <R extends object>(name: RetentionStatement, values: unknown[]): Promise<R[]> => {
    if (opts.signal?.aborted) throw new Error('the retention pass was stopped (the worker is shutting down)');
    const t0 = performance.now();
    const result = await retentionSql<R & Record<string, unknown>>(pool, name, values);
    const ms = performance.now() - t0;
    stats.batches++;
    if (ms > stats.maxBatchMs) Object.assign(stats, { maxBatchMs: ms, slowestStatement: name });
    return result.rows;
  };
  /**
   * Repeats a keyset-paged delete (its last parameters are the key of the last row deleted:
   * `keyOf` gives a row's key as numbers, compared in order) until it deletes less than a
   * full batch; returns how many it deleted.
   */
  const drain = async <R extends object>(name: RetentionStatement, values: unknown[], keyOf: (row: R) => bigint[], start: bigint[], onRows?: (rows: R[]) => Promise<void>): Promise<number> => {
    let total = 0;
    for (let after = start; ; ) {
      const rows = await batch<R>(name, [...values, batchSize, ...after.map(String)]);
      total += rows.length;
      if (onRows && rows.length > 0) await onRows(rows);
      if (rows.length < batchSize) return total;
      // DELETE … RETURNING gives no order: the next batch starts after the greatest key.
      after = rows.map(keyOf).reduce((max, key) => (compareKeys(key, max) > 0 ? key : max));
    }
  };
  /** Deletes the log lines of `tryIds` (at most one batch of tries). */
  const deleteTryLogs = (tryIds: string[]) =>
    drain<{ task_try_id: string; seq: number }>('delete_try_logs', [tryIds], (row) => [BigInt(row.task_try_id), BigInt(row.seq)], [0n, 0n]);
  /** Repeats a delete of the oldest rows (small tables, or one with an index on its age) until it deletes less than a full batch. */
  const drainOldest = async (name: RetentionStatement, values: unknown[]): Promise<number> => {
    let total = 0;
    for (;;) {
      const rows = await batch(name, [...values, batchSize]);
      total += rows.length;
      if (rows.length < batchSize) return total;
    }
  };
  const byId = (row: { id: string }) => [BigInt(row.id)];
  const xcomsDeleted = async (rows: Array<{ id: string; task_instance_id: string; key: string; blob_key: string | null }>) => {
    stats.blobs += rows.filter((r) => r.blob_key !== null).length;
    await opts.hooks?.afterXComDeleted?.(rows.map((r) => ({ id: r.id, taskInstanceId: r.task_instance_id, key: r.key, blobKey: r.blob_key })));
  };
  const scope = [opts.dagId ?? null, keepLast];

  let error: string | null = null;
  try {
    // Whole runs first, so that the log and XCom passes below do not walk rows about to go.
    const expiredRuns = new Set<number>();
    if (tables.includes('dag_run')) {
      for (let after = 0; ; ) {
        const ids = (await selectPage<{ id: number }>(pool, 'select_expired_runs', [...scope, ageS('dag_run'), useOverrides, after, batchSize])).map((r) => r.id);
        if (ids.length === 0) break;
        after = ids.at(-1)!;
        if (dryRun) {
          for (const id of ids) expiredRuns.add(id);
          const [counts] = (await retentionSql<Record<'task_instance' | 'task_try' | 'xcom' | 'xcom_blob' | 'task_log', number>>(pool, 'count_run_rows', [ids])).rows;
          for (const table of ['task_instance', 'task_try', 'xcom', 'task_log'] as const) deleted[table] += counts![table];
          stats.blobs += counts!.xcom_blob;
          deleted.dag_run += ids.length;
        } else {
          for (let afterTry = '0'; ; ) {
            const tries = (await selectPage<{ id: string }>(pool, 'select_run_tries', [ids, afterTry, batchSize])).map((t) => t.id);
            if (tries.length > 0) deleted.task_log += await deleteTryLogs(tries);
            if (tries.length < batchSize) break;
            afterTry = tries.at(-1)!;
          }
          deleted.xcom += await drain('delete_run_xcoms', [ids], byId, [0n], xcomsDeleted);
          deleted.task_try += await drain('delete_run_tries', [ids], byId, [0n]);
          deleted.task_instance += await drain('delete_run_task_instances', [ids], byId, [0n]);
          deleted.dag_run += (await batch('delete_runs', [ids])).length;
        }
        if (ids.length < batchSize) break;
      }
    }
    if (tables.includes('task_log')) {
      for (let after = '0'; ; ) {
        const page = await selectPage<{ id: string; dag_run_id: number }>(pool, 'select_expired_tries', [...scope, ageS('task_log'), useOverrides, after, batchSize]);
        if (page.length === 0) break;
        after = page.at(-1)!.id;
        const tryIds = page.filter((t) => !expiredRuns.has(t.dag_run_id)).map((t) => t.id);
        if (tryIds.length > 0) {
          if (dryRun) deleted.task_log += (await retentionSql<{ task_log: number }>(pool, 'count_try_logs', [tryIds])).rows[0]!.task_log;
          else deleted.task_log += await deleteTryLogs(tryIds);
        }
        if (page.length < batchSize) break;
      }
    }
    if (tables.includes('xcom')) {
      for (let after = '0'; ; ) {
        const page = await selectPage<{ id: string; dag_run_id: number; has_blob: boolean }>(pool, 'select_expired_xcoms', [...scope, ageS('xcom'), useOverrides, after, batchSize]);
        if (page.length === 0) break;
        after = page.at(-1)!.id;
        const doomed = page.filter((x) => !expiredRuns.has(x.dag_run_id));
        const ids = doomed.map((x) => x.id);
        if (ids.length > 0) {
          if (dryRun) {
            deleted.xcom += ids.length;
            stats.blobs += doomed.filter((x) => x.has_blob).length;
          } else {
            const rows = await batch<{ id: string; task_instance_id: string; key: string; blob_key: string | null }>('delete_xcoms', [ids]);
            deleted.xcom += rows.length;
            if (rows.length > 0) await xcomsDeleted(rows);
          }
        }
        if (page.length < batchSize) break;
      }
    }
    if (tables.includes('audit_log')) {
      const values = [opts.dagId ?? null, ageS('audit_log'), useOverrides];
      deleted.audit_log += dryRun ? await count(pool, 'count_audit_logs', values) : await drainOldest('delete_audit_logs', values);
    }
    const simple = [
      ['import_error', 'count_import_errors', 'delete_import_errors'],
      ['worker', 'count_workers', 'delete_workers'],
      ['scheduler', 'count_schedulers', 'delete_schedulers'],
      ['job', 'count_jobs', 'delete_jobs'],
    ] as const;
    for (const [table, countStatement, deleteStatement] of simple) {
      if (!tables.includes(table)) continue;
      deleted[table] += dryRun ? await count(pool, countStatement, [ageS(table)]) : await drainOldest(deleteStatement, [ageS(table)]);
    }
  } catch (e) {
    error = coerceError(e).message;
    if (passId === null) throw e;
  } finally {
    if (passId !== null) {
      await pool
        .query('UPDATE retention_pass SET ended_at = now(), deleted = $2, batches = $3, max_batch_ms = $4, error = $5, blobs = $6 WHERE id = $1', [
          passId,
          JSON.stringify(deleted),
          stats.batches,
          Math.ceil(stats.maxBatchMs),
          error,
          stats.blobs,
        ])
        .catch(() => undefined);
    }
  }
  return { passId, dryRun, deleted, blobs: stats.blobs, batches: stats.batches, maxBatchMs: Math.round(stats.maxBatchMs * 10) / 10, slowestStatement: stats.slowestStatement, durationMs: Math.round(performance.now() - started), error };
}

function checkTables(opts: CleanOptions): RetentionTable[] {
  const tables = [...(opts.tables ?? (opts.dagId !== undefined ? DAG_TABLES : RETENTION_TABLES))];
  const unknown = tables.filter((t) => !(RETENTION_TABLES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new RetentionOptionsError(`unknown table(s) ${unknown.join(', ')}; tables are ${RETENTION_TABLES.join(', ')}`);
  if (opts.dagId !== undefined) {
    const notOfDag = tables.filter((t) => !DAG_TABLES.includes(t));
    if (notOfDag.length > 0) throw new RetentionOptionsError(`${notOfDag.join(', ')} cannot be limited to one DAG; with a DAG, tables are ${DAG_TABLES.join(', ')}`);
  }
  if (opts.olderThanMs !== undefined && !(opts.olderThanMs > 0)) throw new RetentionOptionsError(`the age must be more than 0, got ${opts.olderThanMs} ms`);
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new RetentionOptionsError(`the batch size must be a whole number of at least 1, got ${opts.batchSize}`);
  return tables;
}

async function selectPage<R extends object>(pool: Pool, name: RetentionStatement, values: unknown[]): Promise<R[]> {
  return (await retentionSql<R & Record<string, unknown>>(pool, name, values)).rows;
}

async function count(pool: Pool, name: RetentionStatement, values: unknown[]): Promise<number> {
  return (await retentionSql<{ n: number }>(pool, name, values)).rows[0]!.n;
}

/**
 * ANALYZEs the tables a pass walks that were never analyzed (a database just restored or
 * bulk-loaded, before autovacuum got to it): planned as if empty, each batch would scan
 * task_log whole (measured 9x slower on 200,000 lines). Best effort: without the right to
 * analyze, the pass goes on.
 */
async function analyzeIfNeverAnalyzed(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE oid = ANY(ARRAY['dag_run', 'task_instance', 'task_try', 'task_log', 'xcom']::regclass[]) AND reltuples < 0`,
  );
  if (rows.length > 0) await pool.query(`ANALYZE ${rows.map((r) => r.relname).join(', ')}`).catch(() => undefined);
}

function compareKeys(a: bigint[], b: bigint[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}
