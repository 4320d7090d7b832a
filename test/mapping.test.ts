// Dynamic task mapping, end to end: expansion at run time, reduce, zip, chained maps,
// empty lists, lists that cannot be mapped, retries of one instance, maxActiveTisPerTask.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'mapped.ts': `
import { context, dag, task, zip } from '@updraft/sdk';
const numbers = task('numbers', () => (context().conf.numbers ?? [1, 2, 3]) as number[]);
const words = task('words', () => ['a', 'b']);
const scale = task('scale', (n: number, factor: number) => ({ n: n * factor, index: context().mapIndex }));
const total = task('total', (values: Array<{ n: number; index: number }>) => values.reduce((sum, v) => sum + v.n, 0));
const label = task('label', ([n, word]: [number, string]) => word + n);
const shout = task('shout', (text: string) => text.toUpperCase());
const collect = task('collect', (texts: string[]) => texts.join(','));
export default dag({ id: 'mapped', defaultArgs: { isolation: 'none' } }, () => {
  total(scale.map(numbers(), 10));
  collect(shout.map(label.map(zip(numbers(), words()))));
});
export const literal = dag({ id: 'mapped_literal', defaultArgs: { isolation: 'none' } }, () => {
  collect(shout.map(['x', 'y', 'z']));
});
`,
  'edges.ts': `
import { context, dag, task } from '@updraft/sdk';
const list = task('list', () => context().conf.list as unknown);
const each = task('each', (x: number) => x);
const count = task({ id: 'count', triggerRule: 'none_failed' }, (xs: number[]) => xs.length);
const after = task('after', (xs: number[]) => xs.length);
export default dag({ id: 'edges', defaultArgs: { isolation: 'none', maxMapLength: 5 } }, () => {
  const mapped = each.map(list());
  count(mapped);
  after(mapped);
});
`,
  'flaky.ts': `
import { context, dag, task } from '@updraft/sdk';
const each = task({ id: 'each', retries: 1, retryDelay: 0 }, (n: number) => {
  if (n === context().conf.failing && context().tryNumber === 1) throw new Error('instance ' + context().mapIndex + ' failed');
  if (n === context().conf.broken) throw new Error('broken for good');
  return n;
});
const sum = task('sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
export default dag({ id: 'flaky', defaultArgs: { isolation: 'none' } }, () => { sum(each.map([1, 2, 3, 4])); });
`,
  'capped.ts': `
import { dag, task } from '@updraft/sdk';
const slow = task({ id: 'slow', maxActiveTisPerTask: 2 }, async (n: number) => {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, 150));
  return [start, Date.now()];
});
export default dag({ id: 'capped', defaultArgs: { isolation: 'none' } }, () => { slow.map([1, 2, 3, 4, 5, 6]); });
`,
};

describe('dynamic task mapping', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 4);
  });
  afterAll(() => platform.close());

  async function run(dagId: string, conf: Record<string, unknown> = {}) {
    const runId = await platform.trigger(dagId, conf);
    const state = await platform.waitForRun(runId);
    const instances = await platform.taskInstances(runId);
    const of = (taskId: string) => instances.filter((ti) => ti.taskId === taskId).sort((a, b) => a.mapIndex - b.mapIndex);
    return { runId, state, instances, of };
  }

  it('expands over an upstream’s list at run time; each instance gets its item, the constants and its mapIndex; the reduce gets the values in order', async () => {
    const { state, of } = await run('mapped', { numbers: [5, 6, 7, 8] });
    expect(state).toBe('success');
    expect(of('scale').map((ti) => [ti.mapIndex, ti.state, ti.returnValue])).toEqual([
      [0, 'success', { n: 50, index: 0 }],
      [1, 'success', { n: 60, index: 1 }],
      [2, 'success', { n: 70, index: 2 }],
      [3, 'success', { n: 80, index: 3 }],
    ]);
    expect(of('total').map((ti) => ti.returnValue)).toEqual([260]);
  });

  it('zips lists to the shortest, and maps over a mapped task’s output', async () => {
    const { of } = await run('mapped', { numbers: [1, 2, 3] });
    expect(of('label').map((ti) => ti.returnValue)).toEqual(['a1', 'b2']);
    expect(of('shout').map((ti) => [ti.mapIndex, ti.returnValue])).toEqual([
      [0, 'A1'],
      [1, 'B2'],
    ]);
    expect(of('collect')[0]!.returnValue).toBe('A1,B2');
  });

  it('maps over a literal list from the DAG file', async () => {
    const { state, of } = await run('mapped_literal');
    expect(state).toBe('success');
    expect(of('collect')[0]!.returnValue).toBe('X,Y,Z');
  });

  it('skips a task mapped over an empty list (one instance, mapIndex -1); a none_failed reduce gets []', async () => {
    const { state, of } = await run('edges', { list: [] });
    expect(state).toBe('success');
    expect(of('each').map((ti) => [ti.mapIndex, ti.state])).toEqual([[-1, 'skipped']]);
    expect(of('count').map((ti) => [ti.state, ti.returnValue])).toEqual([['success', 0]]);
    expect(of('after').map((ti) => ti.state)).toEqual(['skipped']);
  });

  it('fails a mapped task whose list is longer than maxMapLength, or not a list, with MappingFailed and no retry', async () => {
    for (const [list, reason] of [
      [[1, 2, 3, 4, 5, 6], 'maps over 6 items; its maxMapLength is 5'],
      [{ a: 1 }, 'the output of task "list" is an object, not an array'],
      [null, 'the output of task "list" is null, not an array'],
    ] as const) {
      const { runId, state, of } = await run('edges', { list });
      expect(state).toBe('failed');
      expect(of('each').map((ti) => [ti.mapIndex, ti.state, ti.tryNumber])).toEqual([[-1, 'failed', 1]]);
      expect(of('after').map((ti) => ti.state)).toEqual(['upstream_failed']);
      const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'each' } } });
      expect(tries.map((t) => [t.state, t.error])).toEqual([['failed', { name: 'MappingFailed', message: `Task "each" cannot be mapped: ${reason}.` }]]);
    }
  });

  it('retries only the instance that failed; a failed instance fails the reduce after the others ran', async () => {
    const retried = await run('flaky', { failing: 3 });
    expect(retried.state).toBe('success');
    expect(retried.of('each').map((ti) => ti.tryNumber)).toEqual([1, 1, 2, 1]);
    expect(retried.of('sum')[0]!.returnValue).toBe(10);

    const broken = await run('flaky', { broken: 2 });
    expect(broken.state).toBe('failed');
    expect(broken.of('each').map((ti) => ti.state)).toEqual(['success', 'failed', 'success', 'success']);
    expect(broken.of('sum').map((ti) => ti.state)).toEqual(['upstream_failed']);
  });

  it('runs at most maxActiveTisPerTask instances of a mapped task at once', async () => {
    const { state, of } = await run('capped');
    expect(state).toBe('success');
    const spans = of('slow').map((ti) => ti.returnValue as [number, number]);
    expect(spans).toHaveLength(6);
    const overlap = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
    // With a worker of concurrency 4, the cap is what keeps it at 2.
    expect(overlap).toBe(2);
  });
});
