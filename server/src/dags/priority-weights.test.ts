import { describe, expect, it } from 'vitest';
import { effectiveWeights, MAX_WEIGHT, type WeightedTask, type WeightRule } from './priority-weights.js';

const t = (id: string, upstreamIds: string[], weight = 1, rule: WeightRule = 'downstream'): WeightedTask => ({ id, upstreamIds, weight, rule });

// Airflow's rules (priority_strategy.py): downstream = own + every descendant's weight, each
// counted once; upstream = own + every ancestor's; absolute = own.
describe('effective priority weights', () => {
  // a → b → d, a → c → d, d → e: a diamond, so d and e are reachable from a along two paths.
  const diamond = (rule: WeightRule) => [t('a', [], 1, rule), t('b', ['a'], 2, rule), t('c', ['a'], 3, rule), t('d', ['b', 'c'], 4, rule), t('e', ['d'], 5, rule)];

  it('downstream: own weight plus every task downstream, counted once', () => {
    expect(Object.fromEntries(effectiveWeights(diamond('downstream')))).toEqual({ a: 15, b: 11, c: 12, d: 9, e: 5 });
  });

  it('upstream: own weight plus every task upstream, counted once', () => {
    expect(Object.fromEntries(effectiveWeights(diamond('upstream')))).toEqual({ a: 1, b: 3, c: 4, d: 10, e: 15 });
  });

  it('absolute: own weight only; rules mix per task', () => {
    expect(Object.fromEntries(effectiveWeights([t('a', [], 7, 'absolute'), t('b', ['a'], 2, 'upstream'), t('c', ['b'], 1)]))).toEqual({ a: 7, b: 9, c: 1 });
  });

  it('clamps to PostgreSQL integers, as Airflow does', () => {
    expect(effectiveWeights([t('a', []), t('b', ['a'], MAX_WEIGHT)]).get('a')).toBe(MAX_WEIGHT);
  });

  it('handles many distinct weights (summing set bits) like few', () => {
    const tasks = Array.from({ length: 100 }, (_, i) => t(`t${i}`, i === 0 ? [] : [`t${i - 1}`], i + 1));
    const weights = effectiveWeights(tasks);
    expect(weights.get('t0')).toBe((100 * 101) / 2);
    expect(weights.get('t98')).toBe(99 + 100);
  });

  it('computes a 20,000-task chain in bounded time and memory', () => {
    const n = 20_000;
    const tasks = Array.from({ length: n }, (_, i) => t(`t${i}`, i === 0 ? [] : [`t${i - 1}`]));
    const started = performance.now();
    const weights = effectiveWeights(tasks);
    expect(weights.get('t0')).toBe(n);
    expect(weights.get(`t${n - 1}`)).toBe(1);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
