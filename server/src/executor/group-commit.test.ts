import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A batch runner whose batches end when the test says so. */
function gated(fail?: (batch: number[]) => Error | undefined) {
  const batches: number[][] = [];
  const open: Array<() => void> = [];
  const run = async (batch: number[]) => {
    batches.push(batch);
    await new Promise<void>((resolve) => open.push(resolve));
    const error = fail?.(batch);
    if (error) throw error;
    return batch.map((n) => n * 10);
  };
  const releaseAll = async () => {
    while (open.length > 0) {
      open.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { batches, run, releaseAll };
}

describe('GroupCommit', () => {
  it('starts a lone item at once, and groups the items that arrive while batches run', async () => {
    const g = gated();
    const group = new GroupCommit(g.run, { maxInFlight: 1, maxBatch: 3 });
    const results = [1, 2, 3, 4, 5, 6].map((n) => group.add(n));
    expect(g.batches).toEqual([[1]]);
    await g.releaseAll();
    await g.releaseAll();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(g.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('splits a failed batch so that only the failing item fails', async () => {
    const g = gated((batch) => (batch.includes(3) ? new Error('value refused') : undefined));
    const group = new GroupCommit(g.run, { maxInFlight: 1, maxBatch: 10 });
    const first = group.add(1);
    const rest = [2, 3, 4].map((n) => group.add(n).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    for (let i = 0; i < 5; i++) await g.releaseAll();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([{ v: 20 }, { e: 'value refused' }, { v: 40 }]);
    expect(g.batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('fails every item of a batch whose connection was lost (their callers retry)', async () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    const g = gated((batch) => (batch.length > 1 ? lost : undefined));
    const group = new GroupCommit(g.run, { maxInFlight: 1, maxBatch: 10 });
    const first = group.add(1);
    const rest = [2, 3].map((n) => group.add(n).catch((e: Error) => e.message));
    for (let i = 0; i < 3; i++) await g.releaseAll();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual(['Connection terminated unexpectedly', 'Connection terminated unexpectedly']);
    expect(g.batches).toEqual([[1], [2, 3]]);
  });
});
