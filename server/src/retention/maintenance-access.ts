import type { MaintenanceAccess, MaintenanceCleanOptions } from '@updraft/sdk';
import type { Pool } from 'pg';
import { recoverLostTries } from '../executor/recovery.js';
import { cleanDatabase, RetentionOptionsError, type RetentionHooks } from './engine.js';
import { MAX_RETENTION_DAYS, parseTables } from './policy.js';

/**
 * What an in-process (`isolation: 'none'`) task's context carries under the SDK's
 * MAINTENANCE_ACCESS: the retention engine and lost-worker recovery, on the worker's pool,
 * each pass recorded as `dag:<dag id>`. In-process code can already reach everything the
 * worker can, so this grants it nothing new; isolated tasks never get it (see ARCHITECTURE.md).
 */
export function maintenanceAccess(deps: { pool: Pool; lostWorkerTimeoutMs: number; batchSize?: number; hooks?: RetentionHooks; signal?: AbortSignal }, dagId: string): MaintenanceAccess {
  return {
    async cleanDatabase(options: MaintenanceCleanOptions) {
      const days = options.maxAgeDays;
      if (!(typeof days === 'number' && days > 0 && days <= MAX_RETENTION_DAYS)) {
        throw new RetentionOptionsError(`maxAgeDays must be a number of days from more than 0 to ${MAX_RETENTION_DAYS}, got ${JSON.stringify(days)}`);
      }
      let tables;
      try {
        tables = options.tables === undefined ? undefined : parseTables(options.tables);
      } catch (e) {
        throw new RetentionOptionsError(`tables: ${(e as Error).message}`);
      }
      return cleanDatabase(deps.pool, {
        olderThanMs: days * 86_400_000,
        tables,
        keepLastPerDag: options.keepLastPerDag ?? true,
        dryRun: options.dryRun ?? false,
        batchSize: deps.batchSize,
        trigger: `dag:${dagId}`,
        hooks: deps.hooks,
        signal: deps.signal,
      });
    },
    async sweepOrphans() {
      const recovery = await recoverLostTries(deps.pool, { heartbeatTimeoutMs: deps.lostWorkerTimeoutMs });
      return {
        closedTries: recovery.tries.map((t) => ({ workerId: t.workerId, dagRunId: t.dagRunId, taskId: t.taskId, tryNumber: t.tryNumber, reason: t.reason, taskState: t.result?.taskState ?? null })),
        lostWorkers: recovery.lostWorkers,
        deletedJobs: recovery.deletedJobs,
        releasedSlots: recovery.releasedSlots,
      };
    },
  };
}
