import { context, dag, params, task, type MaintenanceCleanResult, type RetentionTableName } from '@updraft/sdk';
import { z } from 'zod';
import { maintenance } from './access.js';

// The maintenance DAGs (Airflow's community "maintenance DAGs", built in). Their tasks run in
// the worker's process (`isolation: 'none'`): that is where the retention engine is reachable.
// Deployed paused: unpause the ones you want, or trigger them by hand (`--conf`).

const TABLES = ['dag_run', 'task_log', 'xcom', 'audit_log', 'import_error', 'worker', 'scheduler', 'job'] as const satisfies readonly RetentionTableName[];
const maxAgeDays = z.number().positive().max(36_500).default(30).describe('Delete what is older than this many days.');
const dryRun = z.boolean().default(false).describe('Count what would be deleted, delete nothing.');
const IN_WORKER = { isolation: 'none', retries: 1, retryDelay: '1m' } as const;

/** The params of `maintenance_log_cleanup`. */
export const LogCleanupParams = z.object({ maxAgeDays, dryRun });
/** The params of `maintenance_db_cleanup`. */
export const DbCleanupParams = z.object({
  maxAgeDays,
  tables: z.array(z.enum(TABLES)).min(1).max(TABLES.length).optional().describe(`Tables to clean (default: all): ${TABLES.join(', ')}.`),
  keepLastPerDag: z.boolean().default(true).describe('Keep the latest run of each DAG whatever its age.'),
  dryRun,
});

/** The counts a cleanup returns as its XCom: per table, deleted (or would be, dry), and the XCom blobs among them. */
export type CleanupCounts = Pick<MaintenanceCleanResult, 'dryRun' | 'passId' | 'deleted' | 'blobs' | 'batches' | 'maxBatchMs' | 'durationMs'>;

function report(what: string, result: MaintenanceCleanResult): CleanupCounts {
  const { log } = context();
  const nonZero = Object.fromEntries(Object.entries(result.deleted).filter(([, n]) => n > 0));
  const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
  log.info(`${what}: ${result.dryRun ? 'would delete' : 'deleted'} ${total.toLocaleString('en')} row(s)${result.blobs > 0 ? ` and ${result.blobs.toLocaleString('en')} XCom blob(s)` : ''}`, { ...nonZero, blobs: result.blobs, batches: result.batches, maxBatchMs: result.maxBatchMs, passId: result.passId });
  if (result.error) throw new Error(`${what} stopped early: ${result.error}`);
  const { dryRun, passId, deleted, blobs, batches, maxBatchMs, durationMs } = result;
  return { dryRun, passId, deleted, blobs, batches, maxBatchMs, durationMs };
}

const cleanLogs = task({ id: 'clean_logs', ...IN_WORKER }, async () => {
  const p = params<z.output<typeof LogCleanupParams>>();
  context().log.info(`looking for task log lines older than ${p.maxAgeDays} day(s)${p.dryRun ? ' (dry run)' : ''}`);
  return report('log cleanup', await maintenance().cleanDatabase({ maxAgeDays: p.maxAgeDays, tables: ['task_log'], dryRun: p.dryRun }));
});

/** Deletes task log lines older than `maxAgeDays` (of ended runs; the latest run of each DAG keeps its logs). */
export const maintenanceLogCleanup = dag(
  {
    id: 'maintenance_log_cleanup',
    description: 'Deletes task log lines older than maxAgeDays (default 30), in batches that never block running work',
    schedule: '@daily',
    tags: ['maintenance'],
    params: LogCleanupParams,
    pausedOnCreation: true,
  },
  () => {
    cleanLogs();
  },
);

const cleanDb = task({ id: 'clean_db', ...IN_WORKER }, async () => {
  const p = params<z.output<typeof DbCleanupParams>>();
  context().log.info(`looking for rows older than ${p.maxAgeDays} day(s) in ${(p.tables ?? TABLES).join(', ')}${p.dryRun ? ' (dry run)' : ''}`);
  return report('database cleanup', await maintenance().cleanDatabase({ maxAgeDays: p.maxAgeDays, tables: p.tables, keepLastPerDag: p.keepLastPerDag, dryRun: p.dryRun }));
});

/** Deletes metadata older than `maxAgeDays`: ended runs with everything under them, logs, XCom, audit rows, import errors, stopped workers, failed jobs. */
export const maintenanceDbCleanup = dag(
  {
    id: 'maintenance_db_cleanup',
    description: 'Deletes metadata older than maxAgeDays (default 30): ended runs with their task instances, tries, XCom and logs, audit rows, import errors, stopped workers, failed jobs',
    schedule: '@daily',
    tags: ['maintenance'],
    params: DbCleanupParams,
    pausedOnCreation: true,
  },
  () => {
    cleanDb();
  },
);

/** The counts `maintenance_orphan_sweep` returns as its XCom. */
export interface OrphanSweepCounts {
  closedTries: number;
  lostWorkers: number;
  deletedJobs: number;
  releasedSlots: number;
}

const sweep = task({ id: 'sweep_orphans', ...IN_WORKER }, async (): Promise<OrphanSweepCounts> => {
  const { log } = context();
  const found = await maintenance().sweepOrphans();
  for (const t of found.closedTries) {
    log.warn(`closed ${t.taskId} (run ${t.dagRunId}, try ${t.tryNumber}) of worker ${t.workerId}: ${t.reason}, now ${t.taskState ?? 'already ended'}`);
  }
  if (found.lostWorkers.length > 0) log.warn(`marked ${found.lostWorkers.length} silent worker(s) stopped: ${found.lostWorkers.join(', ')}`);
  const counts = { closedTries: found.closedTries.length, lostWorkers: found.lostWorkers.length, deletedJobs: found.deletedJobs, releasedSlots: found.releasedSlots };
  log.info(`orphan sweep: ${counts.closedTries} orphaned tries closed, ${counts.lostWorkers} lost worker(s), ${counts.deletedJobs} job(s) deleted, ${counts.releasedSlots} job slot(s) released`, { ...counts });
  return counts;
});

/**
 * Closes task instances whose worker is gone (their try fails as `WorkerLost` and is retried
 * or ends) and releases jobs locked by dead workers: the job of Airflow's kill-halted-tasks
 * DAG. Workers already do this every few seconds; this DAG does it on demand and logs it.
 */
export const maintenanceOrphanSweep = dag(
  {
    id: 'maintenance_orphan_sweep',
    description: 'Closes task instances whose worker is gone and releases jobs locked by dead workers',
    schedule: '@hourly',
    tags: ['maintenance'],
    pausedOnCreation: true,
  },
  () => {
    sweep();
  },
);
