import { describe, expect, it } from 'vitest';
import { evaluateTriggerRule, TRIGGER_RULES, type TriggerOutcome, type TriggerRule } from './trigger-rules.js';

/** Upstream mixes as Airflow's tests write them: s success, sk skipped, f failed, uf upstream_failed, w still waiting. */
function mix(text: string) {
  const counts = { total: 0, success: 0, skipped: 0, failed: 0, upstreamFailed: 0 };
  for (const part of text.split(',')) {
    const [, kind, n] = /^(s|sk|f|uf|w)(\d+)$/.exec(part.trim())!;
    const k = Number(n);
    counts.total += k;
    if (kind === 's') counts.success += k;
    else if (kind === 'sk') counts.skipped += k;
    else if (kind === 'f') counts.failed += k;
    else if (kind === 'uf') counts.upstreamFailed += k;
  }
  return counts;
}

// [upstream mix, rule, outcome]: every mix the issue names, then the waiting cases and
// the rest of each rule's table (Airflow's trigger_rule_dep.py).
const CASES: Array<[string, TriggerRule, TriggerOutcome]> = [
  ['s1,f1', 'all_success', 'upstream_failed'],
  ['s1,sk1', 'all_success', 'skipped'],
  ['f2', 'all_failed', 'run'],
  ['s2', 'all_failed', 'skipped'],
  ['sk3', 'all_skipped', 'run'],
  ['sk2', 'one_success', 'skipped'],
  ['sk1,f1,uf1', 'one_success', 'upstream_failed'],
  ['s2', 'one_failed', 'skipped'],
  ['sk2,uf2', 'one_failed', 'run'],
  ['f2', 'one_done', 'run'],
  ['uf2', 'one_done', 'skipped'],
  ['s1,sk1', 'none_failed', 'run'],
  ['s1,sk1,f1', 'none_failed', 'upstream_failed'],
  ['sk2', 'none_failed_min_one_success', 'skipped'],
  ['s2,f1', 'none_skipped', 'run'],
  ['s1,sk1', 'none_skipped', 'skipped'],
  ['f2', 'all_done_min_one_success', 'upstream_failed'],

  ['s2', 'all_success', 'run'],
  ['s1,w1', 'all_success', 'wait'],
  ['f1,w1', 'all_success', 'upstream_failed'], // decided before the others end
  ['uf1,f1', 'all_failed', 'run'],
  ['f1,w1', 'all_failed', 'wait'],
  ['s1,f1,sk1,uf1', 'all_done', 'run'],
  ['s1,w1', 'all_done', 'wait'],
  ['s1,f1', 'all_done_min_one_success', 'run'],
  ['s1,sk1', 'all_done_min_one_success', 'skipped'],
  ['s1,w1', 'all_done_min_one_success', 'wait'],
  ['sk1,w1', 'all_skipped', 'wait'],
  ['sk1,s1', 'all_skipped', 'skipped'],
  ['sk1,uf1', 'all_skipped', 'skipped'],
  ['s1,w2', 'one_success', 'run'], // as soon as one succeeded
  ['f1,w1', 'one_success', 'wait'],
  ['f2', 'one_success', 'upstream_failed'],
  ['f1,w2', 'one_failed', 'run'],
  ['s1,w1', 'one_failed', 'wait'],
  ['s1,w2', 'one_done', 'run'],
  ['uf1,w1', 'one_done', 'wait'],
  ['sk2', 'one_done', 'skipped'],
  ['s1,w1', 'none_failed', 'wait'],
  ['sk2', 'none_failed', 'run'],
  ['uf1,s1', 'none_failed', 'upstream_failed'],
  ['s1,sk1', 'none_failed_min_one_success', 'run'],
  ['uf1,s1', 'none_failed_min_one_success', 'upstream_failed'],
  ['s1,w1', 'none_failed_min_one_success', 'wait'],
  ['s1,w1', 'none_skipped', 'wait'],
  ['f1,uf1', 'none_skipped', 'run'],
  ['w3', 'always', 'run'],
  ['f1,sk1', 'always', 'run'],
];

describe('trigger rules', () => {
  it.each(CASES)('%s → %s: %s', (upstream, rule, outcome) => {
    expect(evaluateTriggerRule(rule, mix(upstream))).toBe(outcome);
  });

  it('has cases for every rule', () => {
    expect(new Set(CASES.map(([, rule]) => rule))).toEqual(new Set(TRIGGER_RULES));
  });

  it('waits for nothing only under `always`, and decides every rule once all upstreams ended', () => {
    const ended = ['s2', 'f2', 'sk2', 'uf2', 's1,f1', 's1,sk1', 'sk1,uf1', 'f1,uf1', 's1,sk1,f1,uf1'];
    for (const rule of TRIGGER_RULES) {
      for (const upstream of ended) expect(evaluateTriggerRule(rule, mix(upstream)), `${rule} on ${upstream}`).not.toBe('wait');
    }
  });
});
