import { durationMs } from '../dags/duration.js';

/**
 * Terminology. A *table* here is a kind of row that retention deletes (the `--tables` of
 * `updraft db clean`). `dag_run` is a run with everything under it: its task instances,
 * their tries, XCom values and log lines. `task_log` and `xcom` on their own delete only
 * those rows (of ended runs), and may be kept for less time than the runs. A *pass* is one
 * sweep over the chosen tables, recorded in `retention_pass`.
 */
export const RETENTION_TABLES = ['dag_run', 'task_log', 'xcom', 'audit_log', 'import_error', 'worker', 'scheduler', 'job'] as const;

export type RetentionTable = (typeof RETENTION_TABLES)[number];

/** Tables whose rows belong to a DAG: the ones a DAG's own retention and `--dag` apply to. */
export const DAG_TABLES: readonly RetentionTable[] = ['dag_run', 'task_log', 'xcom', 'audit_log'];

/** What a pass reports, per table it deleted from (a run's rows are counted table by table). */
export const REPORTED_TABLES = ['dag_run', 'task_instance', 'task_try', 'xcom', 'task_log', 'audit_log', 'import_error', 'worker', 'scheduler', 'job'] as const;

export type DeletedCounts = Record<(typeof REPORTED_TABLES)[number], number>;

/** The platform's retention: how long each table's rows are kept, and when the cron job runs. */
export interface RetentionPolicy {
  /** Days rows are kept unless their table or DAG says otherwise. Default 30 (or UPDRAFT_RETENTION_DAYS). */
  defaultDays: number;
  /** Days per table, overriding `defaultDays` (e.g. `{ task_log: 14 }`). Default none (or UPDRAFT_RETENTION_<TABLE>_DAYS). */
  days: Partial<Record<RetentionTable, number>>;
  /** When the retention cron job runs (a graphile-worker crontab time, UTC). Default hourly, at minute 17. */
  schedule: string;
  /** Rows deleted per transaction. Default 1,000. */
  batchSize: number;
}

export const DEFAULT_RETENTION_DAYS = 30;
export const MAX_RETENTION_DAYS = 36_500;
export const DEFAULT_RETENTION_SCHEDULE = '17 * * * *';
export const DEFAULT_BATCH_SIZE = 1_000;
const MAX_BATCH_SIZE = 100_000;

/**
 * The retention policy from `overrides`, else the environment, else the defaults; a bad value
 * throws a TypeError naming it. `off` (or 0) for UPDRAFT_RETENTION_DAYS is handled by the
 * caller (config.ts): null, no cron job.
 */
export function resolveRetentionPolicy(overrides: Partial<RetentionPolicy> = {}, env: NodeJS.ProcessEnv = process.env): RetentionPolicy {
  const defaultDays = overrides.defaultDays ?? daysFromEnv(env, 'UPDRAFT_RETENTION_DAYS') ?? DEFAULT_RETENTION_DAYS;
  checkDays(defaultDays, 'the default retention');
  const days: Partial<Record<RetentionTable, number>> = {};
  for (const table of RETENTION_TABLES) {
    const value = overrides.days?.[table] ?? daysFromEnv(env, `UPDRAFT_RETENTION_${table.toUpperCase()}_DAYS`);
    if (value === undefined) continue;
    checkDays(value, `the retention of ${table}`);
    days[table] = value;
  }
  for (const table of Object.keys(overrides.days ?? {})) {
    if (!(RETENTION_TABLES as readonly string[]).includes(table)) throw new TypeError(`retention days given for unknown table "${table}"; tables are ${RETENTION_TABLES.join(', ')}`);
  }
  const batchSize = overrides.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new TypeError(`the retention batch size must be a whole number from 1 to ${MAX_BATCH_SIZE.toLocaleString('en')}, got ${batchSize}`);
  }
  return { defaultDays, days, schedule: overrides.schedule ?? env.UPDRAFT_RETENTION_SCHEDULE ?? DEFAULT_RETENTION_SCHEDULE, batchSize };
}

/** Days of a table under `policy`. */
export function tableDays(policy: Pick<RetentionPolicy, 'defaultDays' | 'days'>, table: RetentionTable): number {
  return policy.days[table] ?? policy.defaultDays;
}

function checkDays(days: number, what: string) {
  if (!(typeof days === 'number' && days > 0 && days <= MAX_RETENTION_DAYS)) throw new TypeError(`${what} must be a number of days from more than 0 to ${MAX_RETENTION_DAYS}, got ${days}`);
}

function daysFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const days = Number(text);
  if (!Number.isFinite(days)) throw new TypeError(`${name} must be a number of days (e.g. 30), got ${JSON.stringify(text)}`);
  return days;
}

/**
 * An age such as `30d`, `12h` or `90m` (the `--older-than` of `updraft db clean`), in
 * milliseconds; a bad one throws a TypeError saying what is accepted.
 */
export function parseAge(text: string): number {
  if (text.length > 20) throw new TypeError(`"${text.slice(0, 20)}…" is not an age: use a number of days, hours or minutes such as 30d, 12h or 90m`);
  const ms = /^\d+(\.\d+)?(d|h|m)$/.test(text) ? durationMs(text as never) : undefined;
  if (ms === undefined || ms <= 0) throw new TypeError(`"${text}" is not an age: use a number of days, hours or minutes such as 30d, 12h or 90m`);
  if (ms > MAX_RETENTION_DAYS * 86_400_000) throw new TypeError(`"${text}" is too long an age: at most ${MAX_RETENTION_DAYS}d`);
  return ms;
}

/** Table names as given (`--tables dag_run,xcom`), checked; a bad one throws a TypeError listing the valid ones. */
export function parseTables(names: readonly string[]): RetentionTable[] {
  if (names.length === 0) throw new TypeError(`no table given; tables are ${RETENTION_TABLES.join(', ')}`);
  const unknown = names.filter((name) => !(RETENTION_TABLES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    // Quoted, but never more than a few short names: the message stays small whatever was given.
    const shown = unknown.slice(0, 3).map((n) => JSON.stringify(n.length > 40 ? `${n.slice(0, 40)}…` : n));
    const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
    throw new TypeError(`unknown table${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}${more}; tables are ${RETENTION_TABLES.join(', ')}`);
  }
  return [...new Set(names)] as RetentionTable[];
}
