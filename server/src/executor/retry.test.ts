import { describe, expect, it } from 'vitest';
import { durationMs } from '../dags/duration.js';
import { retryDelayMs } from './retry.js';

describe('retry delays', () => {
  const policy = { retryDelayMs: 1_000, retryExponentialBackoff: false, maxRetryDelayMs: 5_000 };

  it('waits retryDelay before every retry without backoff', () => {
    expect([2, 3, 4].map((nextTry) => retryDelayMs(policy, nextTry))).toEqual([1_000, 1_000, 1_000]);
  });

  it('doubles the wait each try with exponential backoff, up to maxRetryDelay', () => {
    const backoff = { ...policy, retryExponentialBackoff: true };
    expect([2, 3, 4, 5, 6].map((nextTry) => retryDelayMs(backoff, nextTry))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});

describe('durations', () => {
  it('reads milliseconds and unit strings, and refuses anything else', () => {
    expect([1500, '500ms', '30s', '5m', '2h', '1d', '1.5s'].map((d) => durationMs(d as never))).toEqual([1500, 500, 30_000, 300_000, 7_200_000, 86_400_000, 1_500]);
    expect(['soon', '5 m', '-1s', ''].map((d) => durationMs(d as never))).toEqual([undefined, undefined, undefined, undefined]);
    expect(durationMs(-1)).toBeUndefined();
    expect(durationMs(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
