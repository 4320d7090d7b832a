// Branching, short-circuit and latest-only, end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDagRun } from '../server/src/runs.js';
import { graphql, platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'branching.ts': `
import { branch, context, dag, task } from '@updraft/sdk';
const pick = branch('pick', () => context().conf.choice as string | string[] | null);
const small = task('small', () => 'small');
const big = task('big', () => 'big');
const join = task({ id: 'join', triggerRule: 'none_failed_min_one_success' }, () => 'joined');
export default dag({ id: 'branching' }, () => {
  const p = pick();
  join().after(small().after(p), big().after(p));
});
`,
  'short.ts': `
import { context, dag, shortCircuit, task } from '@updraft/sdk';
const gate = shortCircuit('gate', () => context().conf.go as unknown);
const gateRespecting = shortCircuit({ id: 'gate', respectTriggerRules: true }, () => context().conf.go as unknown);
const next = task('next', () => 'next');
const cleanup = task({ id: 'cleanup', triggerRule: 'all_done' }, () => 'cleaned');
export default dag({ id: 'short' }, () => { cleanup().after(next().after(gate())); });
export const respecting = dag({ id: 'short_respecting' }, () => { cleanup().after(next().after(gateRespecting())); });
`,
  'grouped.ts': `
import { dag, group, task } from '@updraft/sdk';
const extract = task('extract', () => [1, 2, 3]);
const double = task('double', (xs: number[]) => xs.map((x) => x * 2));
const sum = task('sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
const report = task('report', (total: number) => 'total ' + total);
export default dag({ id: 'grouped' }, () => {
  const transform = group({ id: 'transform', defaultArgs: { retries: 2 } }, () => sum(double(extract())));
  report(transform.output).after(transform);
});
`,
  'latest.ts': `
import { dag, latestOnly, task } from '@updraft/sdk';
const notify = task('notify', () => 'notified');
export default dag({ id: 'latest', schedule: '@daily' }, () => { notify().after(latestOnly()); });
`,
};

describe('branching, short-circuit and latest-only', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 4);
  });
  afterAll(() => platform.close());

  async function run(dagId: string, conf: Record<string, unknown> = {}) {
    const runId = await platform.trigger(dagId, conf);
    const state = await platform.waitForRun(runId);
    const instances = await platform.taskInstances(runId);
    return { state, runId, states: Object.fromEntries(instances.map((ti) => [ti.taskId, ti.state])), values: Object.fromEntries(instances.map((ti) => [ti.taskId, ti.returnValue])) };
  }

  it('follows the chosen branch and skips the other; the join runs', async () => {
    const { state, states, values } = await run('branching', { choice: 'big' });
    expect(state).toBe('success');
    expect(states).toEqual({ pick: 'success', small: 'skipped', big: 'success', join: 'success' });
    expect(values.pick).toBe('big');
  });

  it('follows several branches, or none', async () => {
    expect((await run('branching', { choice: ['small', 'big'] })).states).toEqual({ pick: 'success', small: 'success', big: 'success', join: 'success' });
    expect((await run('branching', { choice: null })).states).toEqual({ pick: 'success', small: 'skipped', big: 'skipped', join: 'skipped' });
  });

  it('fails a branch that chooses a task that is not a direct downstream task, without retrying', async () => {
    const { state, runId, states } = await run('branching', { choice: 'join' });
    expect(state).toBe('failed');
    expect(states).toEqual({ pick: 'failed', small: 'upstream_failed', big: 'upstream_failed', join: 'upstream_failed' });
    const [t] = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'pick' } } });
    expect(t!.error).toMatchObject({
      name: 'InvalidBranch',
      message: 'branch "pick" chose "join", which is not one of its direct downstream tasks: "big", "small"; return their ids, or null to skip them all',
    });
  });

  it('short-circuits everything downstream on a falsy value, whatever the trigger rules', async () => {
    for (const go of [false, 0, '', null, [], {}]) {
      expect((await run('short', { go })).states, JSON.stringify(go)).toEqual({ gate: 'success', next: 'skipped', cleanup: 'skipped' });
    }
  });

  it('goes on and publishes the value on a truthy one', async () => {
    const { states, values } = await run('short', { go: ['x'] });
    expect(states).toEqual({ gate: 'success', next: 'success', cleanup: 'success' });
    expect(values.gate).toEqual(['x']);
  });

  it('with respectTriggerRules, skips the direct downstream only and lets the rules decide the rest', async () => {
    expect((await run('short_respecting', { go: false })).states).toEqual({ gate: 'success', next: 'skipped', cleanup: 'success' });
  });

  it('runs task groups: prefixed ids, group defaults, the group as an upstream; the API shows each task\'s group', async () => {
    const { state, values } = await run('grouped');
    expect(state).toBe('success');
    expect(values).toEqual({ 'transform.extract': [1, 2, 3], 'transform.double': [2, 4, 6], 'transform.sum': 12, report: 'total 12' });
    const data = await graphql<{ dag: { tasks: unknown[] } }>(platform, '{ dag(id: "grouped") { tasks { id groupId retries upstreamIds } } }');
    expect(data.dag.tasks).toEqual([
      { id: 'transform.extract', groupId: 'transform', retries: 2, upstreamIds: [] },
      { id: 'transform.double', groupId: 'transform', retries: 2, upstreamIds: ['transform.extract'] },
      { id: 'transform.sum', groupId: 'transform', retries: 2, upstreamIds: ['transform.double'] },
      { id: 'report', groupId: null, retries: 0, upstreamIds: ['transform.sum'] },
    ]);
  });

  it('latest-only lets manual runs and the latest scheduled run through, and skips in older scheduled runs', async () => {
    expect((await run('latest')).states).toEqual({ latest_only: 'success', notify: 'success' });

    const older = await createDagRun(platform.pool, { dagId: 'latest', runType: 'scheduled', logicalDate: new Date(Date.now() - 3 * 86_400_000) });
    expect(await platform.waitForRun(older!)).toBe('success');
    expect(Object.fromEntries((await platform.taskInstances(older!)).map((ti) => [ti.taskId, ti.state]))).toEqual({ latest_only: 'success', notify: 'skipped' });

    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    const latest = await createDagRun(platform.pool, { dagId: 'latest', runType: 'scheduled', logicalDate: today });
    expect(await platform.waitForRun(latest!)).toBe('success');
    expect(Object.fromEntries((await platform.taskInstances(latest!)).map((ti) => [ti.taskId, ti.state]))).toEqual({ latest_only: 'success', notify: 'success' });
  });
});
