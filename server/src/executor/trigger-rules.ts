/**
 * Trigger rules: when may a task run, given the states of its upstream task instances?
 * One table for the executor, the local test runner and the API. Only `all_success` is
 * offered by the SDK so far; the outcome type already covers the other Airflow rules.
 */
export type TriggerRule = 'all_success';

/** What to do with a waiting task instance. */
export type TriggerOutcome = 'wait' | 'run' | 'upstream_failed' | 'skipped';

export type UpstreamState = 'none' | 'scheduled' | 'queued' | 'running' | 'up_for_retry' | 'success' | 'failed' | 'upstream_failed' | 'skipped' | 'removed';

export function evaluateTriggerRule(rule: TriggerRule, upstream: UpstreamState[]): TriggerOutcome {
  switch (rule) {
    case 'all_success':
      if (upstream.some((s) => s === 'failed' || s === 'upstream_failed')) return 'upstream_failed';
      if (upstream.some((s) => s === 'skipped')) return 'skipped';
      return upstream.every((s) => s === 'success') ? 'run' : 'wait';
  }
}
