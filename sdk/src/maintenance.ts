/**
 * @internal How a maintenance task reaches the platform's retention engine (a symbol shared by
 * every copy of the SDK: each bundle has its own). Only tasks with `isolation: 'none'` get it:
 * they run in the worker's own process, which they could use anyway; an isolated task, which
 * holds no database credentials, never does. `@updraft/plugin-maintenance` reads it.
 */
export const MAINTENANCE_ACCESS: symbol = Symbol.for('@updraft/sdk/maintenance');

/** The tables retention deletes from (`dag_run`: runs with their task instances, tries, XCom and logs). */
export type RetentionTableName = 'dag_run' | 'task_log' | 'xcom' | 'audit_log' | 'import_error' | 'worker' | 'scheduler' | 'job';

/** What a maintenance task asks the retention engine to delete. */
export interface MaintenanceCleanOptions {
  /** Delete what is older than this many days (every chosen table, whatever the DAGs' own retention). */
  maxAgeDays: number;
  /** Default: every table. */
  tables?: RetentionTableName[];
  /** Keep the latest run of each DAG. Default true. */
  keepLastPerDag?: boolean;
  /** Count, delete nothing. */
  dryRun?: boolean;
}

/** What a pass deleted (or, dry, would delete), per table. */
export interface MaintenanceCleanResult {
  /** The recorded pass (the `retentionPasses` query); null for a dry run. */
  passId: number | null;
  dryRun: boolean;
  deleted: Record<'dag_run' | 'task_instance' | 'task_try' | 'xcom' | 'task_log' | 'audit_log' | 'import_error' | 'worker' | 'scheduler' | 'job', number>;
  /** Of the XCom rows deleted (or that would be), those whose value was in the object store: their blobs are deleted with them. */
  blobs: number;
  batches: number;
  maxBatchMs: number;
  durationMs: number;
  error: string | null;
}

/** What an orphan sweep found and closed. */
export interface OrphanSweepResult {
  /** Running tries whose worker is gone (or no longer holds them), now failed and retried or ended. */
  closedTries: Array<{ workerId: string; dagRunId: number; taskId: string; tryNumber: number; reason: string; taskState: string | null }>;
  /** Workers found silent, now marked stopped. */
  lostWorkers: string[];
  /** Jobs of those workers' closed tries, deleted (their retries are new jobs). */
  deletedJobs: number;
  /** Job slots that had locked a job without running it, released. */
  releasedSlots: number;
}

/** @internal What the worker puts under MAINTENANCE_ACCESS in an in-process task's context. */
export interface MaintenanceAccess {
  cleanDatabase(options: MaintenanceCleanOptions): Promise<MaintenanceCleanResult>;
  sweepOrphans(): Promise<OrphanSweepResult>;
}
