/**
 * Trigger rules: when may a task run, given how its upstream task instances ended?
 * One table for the executor, the local test runner and the API. Rules read counts (as
 * Airflow's do), never the upstream rows themselves. Only `all_success` is offered by the
 * SDK so far; the inputs and outcomes already cover Airflow's other rules.
 */
export type TriggerRule = 'all_success';

/** What to do with a waiting task instance. */
export type TriggerOutcome = 'wait' | 'run' | 'upstream_failed' | 'skipped';

/** How a task's upstream instances have ended so far. `failed` includes `upstream_failed`. */
export interface UpstreamCounts {
  total: number;
  success: number;
  skipped: number;
  failed: number;
}

export function evaluateTriggerRule(rule: TriggerRule, upstream: UpstreamCounts): TriggerOutcome {
  switch (rule) {
    case 'all_success':
      if (upstream.failed > 0) return 'upstream_failed';
      if (upstream.skipped > 0) return 'skipped';
      return upstream.success === upstream.total ? 'run' : 'wait';
  }
}

/** How a finished task instance counts for its downstream tasks. */
export type UpstreamOutcome = 'success' | 'skipped' | 'failed';
