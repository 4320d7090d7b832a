/**
 * Trigger rules: when may a task run, given how its upstream task instances ended?
 * One table for the executor, the local test runner and the API, with Airflow's names and
 * semantics (airflow/ti_deps/deps/trigger_rule_dep.py). Rules read counts, as Airflow's do,
 * never the upstream rows themselves; they are evaluated each time an upstream ends, so
 * the `one_*` rules fire as soon as they can, without waiting for the other upstreams.
 */
import type { TriggerRule as SdkTriggerRule } from '@updraft/sdk';

export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_min_one_success',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
] as const;

export type TriggerRule = (typeof TRIGGER_RULES)[number];

// The SDK declares the same names for its users: the compiler keeps the two lists equal.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameRules: Same<TriggerRule, SdkTriggerRule> = true;
void sameRules;

/** What to do with a waiting task instance. */
export type TriggerOutcome = 'wait' | 'run' | 'upstream_failed' | 'skipped';

/** How a task's upstream instances have ended so far, out of `total`. */
export interface UpstreamCounts {
  total: number;
  success: number;
  skipped: number;
  failed: number;
  upstreamFailed: number;
}

/** How a finished task instance counts for its downstream tasks. */
export type UpstreamOutcome = 'success' | 'skipped' | 'failed' | 'upstream_failed';

export function evaluateTriggerRule(rule: TriggerRule, up: UpstreamCounts): TriggerOutcome {
  const { total, success, skipped, failed, upstreamFailed } = up;
  const done = success + skipped + failed + upstreamFailed >= total;
  const anyFailed = failed + upstreamFailed > 0;
  switch (rule) {
    case 'all_success':
      if (anyFailed) return 'upstream_failed';
      if (skipped > 0) return 'skipped';
      return success === total ? 'run' : 'wait';
    case 'all_failed':
      if (success > 0 || skipped > 0) return 'skipped';
      return failed + upstreamFailed === total ? 'run' : 'wait';
    case 'all_done':
      return done ? 'run' : 'wait';
    case 'all_done_min_one_success':
      // Skipped upstreams do not count as done for this rule.
      if (skipped > 0) return 'skipped';
      if (!done) return 'wait';
      return success > 0 ? 'run' : 'upstream_failed';
    case 'all_skipped':
      if (success > 0 || anyFailed) return 'skipped';
      return skipped === total ? 'run' : 'wait';
    case 'one_success':
      if (success > 0) return 'run';
      if (!done) return 'wait';
      return skipped === total ? 'skipped' : 'upstream_failed';
    case 'one_failed':
      if (anyFailed) return 'run';
      return done ? 'skipped' : 'wait';
    case 'one_done':
      // `upstream_failed` is not "done" here: only upstreams that ran count.
      if (success + failed > 0) return 'run';
      return done ? 'skipped' : 'wait';
    case 'none_failed':
      if (anyFailed) return 'upstream_failed';
      return done ? 'run' : 'wait';
    case 'none_failed_min_one_success':
      if (anyFailed) return 'upstream_failed';
      if (skipped === total) return 'skipped';
      return done ? 'run' : 'wait';
    case 'none_skipped':
      if (skipped > 0) return 'skipped';
      return done ? 'run' : 'wait';
    case 'always':
      return 'run';
  }
}
