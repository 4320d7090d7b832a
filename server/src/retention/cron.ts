import { parseCronItems, type ParsedCronItem, type Task } from 'graphile-worker';
import type { Pool } from 'pg';
import { coerceError } from '../errors.js';
import { cleanDatabase, type RetentionHooks } from './engine.js';
import type { RetentionPolicy } from './policy.js';

/** The graphile-worker task (and crontab identifier) of the retention pass. */
export const RETENTION_TASK = 'updraft_retention';

/**
 * The crontab of the retention pass. Every worker carries it; graphile-worker's
 * `known_crontabs` makes each tick one job whichever workers run, its queue runs passes one
 * at a time, and a missed tick is not made up (the next pass catches up anyway). One
 * attempt: a pass that fails is recorded, and the next tick tries again.
 */
export function retentionCrontab(policy: Pick<RetentionPolicy, 'schedule'>): ParsedCronItem[] {
  try {
    return parseCronItems([
      { task: RETENTION_TASK, identifier: RETENTION_TASK, match: policy.schedule, options: { backfillPeriod: 0, maxAttempts: 1, queueName: RETENTION_TASK } },
    ]);
  } catch (e) {
    throw new TypeError(`the retention schedule ${JSON.stringify(policy.schedule)} is not a crontab time (5 fields, e.g. "17 * * * *"): ${coerceError(e).message}`);
  }
}

/** The job that runs one pass under `policy`; a failed pass is reported to `onWarning` (and recorded with the pass). */
export function retentionTask(deps: { pool: Pool; policy: RetentionPolicy; hooks?: RetentionHooks; signal: AbortSignal; onWarning: (message: string) => void }): Task {
  return async () => {
    const result = await cleanDatabase(deps.pool, { policy: deps.policy, batchSize: deps.policy.batchSize, trigger: 'cron', hooks: deps.hooks, signal: deps.signal });
    if (result.error) deps.onWarning(`retention pass ${result.passId} stopped early: ${result.error}`);
  };
}
