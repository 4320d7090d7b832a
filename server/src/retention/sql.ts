import { readFileSync } from 'node:fs';
import type { ClientBase, Pool, QueryResult, QueryResultRow } from 'pg';

/**
 * Retention's statements, one file each in ./sql (like the executor's), run as named
 * prepared statements. Each delete is one statement, so one short transaction.
 */
const NAMES = [
  'select_expired_runs',
  'count_run_rows',
  'select_run_tries',
  'delete_run_xcoms',
  'delete_run_tries',
  'delete_run_task_instances',
  'delete_runs',
  'select_expired_tries',
  'count_try_logs',
  'delete_try_logs',
  'select_expired_xcoms',
  'delete_xcoms',
  'count_audit_logs',
  'delete_audit_logs',
  'count_import_errors',
  'delete_import_errors',
  'count_workers',
  'delete_workers',
  'count_schedulers',
  'delete_schedulers',
  'count_jobs',
  'delete_jobs',
] as const;

export type RetentionStatement = (typeof NAMES)[number];

const TEXT = Object.fromEntries(NAMES.map((name) => [name, readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8')])) as Record<RetentionStatement, string>;

export function retentionSql<R extends QueryResultRow>(client: ClientBase | Pool, name: RetentionStatement, values: unknown[]): Promise<QueryResult<R>> {
  return client.query<R>({ name: `updraft_retention_${name}`, text: TEXT[name], values });
}
