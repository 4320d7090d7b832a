/**
 * The task instance state machine: Airflow's states (with its "no status" stored as
 * `none`) and the sets that the executor's SQL and code decide by. The hand-written
 * statements spell these sets out; `states.test.ts` checks each one against this module.
 *
 * none/scheduled → queued → running → success | failed | skipped
 *                                   → up_for_retry → (due) running
 *                                   → up_for_reschedule → (due) running   (sensors)
 * none/scheduled → upstream_failed | skipped                 (trigger rules, branches)
 */
export const TASK_INSTANCE_STATES = [
  'none',
  'scheduled',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'up_for_reschedule',
  'upstream_failed',
  'skipped',
  'removed',
] as const;

export type TaskInstanceState = (typeof TASK_INSTANCE_STATES)[number];

/** Not started: trigger rules may still run, skip or fail them. */
export const WAITING = ['none', 'scheduled'] as const satisfies readonly TaskInstanceState[];

/** Will run again once `next_try_at` is due (their job waits with `run_at`). */
export const DUE_LATER = ['up_for_retry', 'up_for_reschedule'] as const satisfies readonly TaskInstanceState[];

/** A run with an instance in one of these states is not over. */
export const UNFINISHED = [...WAITING, 'queued', 'running', ...DUE_LATER] as const satisfies readonly TaskInstanceState[];

/** Unfinished and not running: a cancelled run skips these. */
export const NOT_STARTED = [...WAITING, 'queued', ...DUE_LATER] as const satisfies readonly TaskInstanceState[];

/** Ended: what an operator may clear. */
export const ENDED = ['success', 'failed', 'upstream_failed', 'skipped'] as const satisfies readonly TaskInstanceState[];

/** Ended in failure: a leaf in one of these fails its run (Airflow's leaf rule). */
export const FAILED = ['failed', 'upstream_failed'] as const satisfies readonly TaskInstanceState[];

/** A gated instance in one of these waits for admission (executor/capacity.ts): its limits' slots. */
export const AWAITING_ADMISSION = ['scheduled', ...DUE_LATER] as const satisfies readonly TaskInstanceState[];

/** A gated instance in one of these holds its slots. */
export const HOLDING_SLOTS = ['queued', 'running'] as const satisfies readonly TaskInstanceState[];

export function isWaiting(state: string): boolean {
  return (WAITING as readonly string[]).includes(state);
}
