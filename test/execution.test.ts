import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, dagFolder, graphql, REPO_ROOT, writeDagFiles, type TestPlatform } from './support/platform.js';

const DAGS = {
  'cycle.ts': `
import { dag, task } from '@updraft/sdk';
const a = task('a', () => 1);
const b = task('b', () => 2);
export default dag({ id: 'cyclic' }, () => { a().after('b'); b().after('a'); });
`,
  'retrying.ts': `
import { context, dag, task } from '@updraft/sdk';
const flaky = task({ id: 'flaky', retries: 2, retryDelay: '300ms' }, () => {
  if (context().tryNumber < 3) throw new Error('try ' + context().tryNumber + ' failed');
  return 'third time lucky';
});
export default dag({ id: 'retrying' }, () => { flaky(); });
`,
  'failing.ts': `
import { dag, task, NonRetryableError } from '@updraft/sdk';
const start = task('start', () => 'ok');
const boom = task({ id: 'boom', retries: 3, retryDelay: 0 }, (_: string) => { throw new NonRetryableError('bad input'); });
const after = task('after', (_: void) => 'never');
const sibling = task('sibling', (s: string) => s + '!');
export default dag({ id: 'failing' }, () => { const s = start(); after(boom(s)); sibling(s); });
`,
  'diamond.ts': `
import { context, dag, task } from '@updraft/sdk';
const source = task('source', () => ({ at: new Date('2026-01-02T03:04:05Z'), n: 2 }));
const left = task('left', (x: { at: Date; n: number }) => x.n * 10);
const right = task('right', (x: { at: Date; n: number }) => x.at);
const join = task('join', (l: number, r: Date, literal: string) => [l, r, literal, context().conf.who ?? null, r instanceof Date]);
export default dag({ id: 'diamond', defaultArgs: { retries: 1 } }, () => {
  const s = source();
  join(left(s), right(s), 'lit');
});
`,
  'wide.ts': `
import { dag, task } from '@updraft/sdk';
const leaf = task('leaf', async (i: number) => { await new Promise((r) => setTimeout(r, 5)); return i; });
const sum = task('sum', (...xs: number[]) => xs.reduce((a, b) => a + b, 0));
export default dag({ id: 'wide' }, () => {
  const leaves = Array.from({ length: 30 }, (_, i) => leaf(i));
  sum(...leaves);
});
`,
  'introspect.ts': `
import { context, dag, task } from '@updraft/sdk';
const whoami = task({ id: 'whoami', retries: 4 }, () => {
  const { log, signal, logicalDate, ...rest } = context();
  log.debug('looking', { at: 'myself' });
  return { ...rest, logicalDate: logicalDate.toISOString(), aborted: signal.aborted, logIsFunction: typeof log.info === 'function' };
});
export default dag({ id: 'introspect' }, () => { whoami(); });
`,
  'unstorable.ts': `
import { context, dag, task } from '@updraft/sdk';
const nul = task('nul', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  context().log.info('a\\u0000b', { text: 'c\\u0000d' });
  context().log.warn('circular', { circular });
  return 'x\\u0000y';
});
export default dag({ id: 'unstorable' }, () => { nul(); });
`,
  'slow.ts': `
import { context, dag, task } from '@updraft/sdk';
const slow = task({ id: 'slow', timeout: '200ms' }, () => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, 5000);
  context().signal.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')); });
}));
export default dag({ id: 'slow' }, () => { slow(); });
`,
};

describe('execution', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    // A broken file in the folder must not keep the other DAGs from loading and running.
    const result = await platform.deploy(await dagFolder(DAGS));
    expect(result.importErrors).toEqual([{ fileName: 'cycle.ts', message: expect.stringMatching(/cycle\.ts: DAG "cyclic": cycle between tasks (a -> b -> a|b -> a -> b)/) }]);
    expect((await platform.deploy(path.join(REPO_ROOT, 'examples/dags'))).importErrors).toEqual([]);
    await platform.startWorker(4);
  });
  afterAll(() => platform.close());

  it('runs hello_world: each task receives the previous one’s value and the run succeeds', async () => {
    const runId = await platform.trigger('hello_world');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await platform.taskInstances(runId)).toEqual([
      { taskId: 'make_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: 'hi' },
      { taskId: 'ready_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: expect.stringContaining('hi') },
      { taskId: 'say_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: null },
    ]);
    const logs = await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstance: { dagRunId: runId, taskId: 'say_hi' } } } });
    expect(logs.map((l) => [l.level, l.message])).toEqual([['info', 'hi, ready to fly!']]);
  });

  it('runs the branching example: short-circuit, branch, join, latest-only', async () => {
    const states = async (conf: Record<string, unknown>) => {
      const runId = await platform.trigger('branching', conf);
      expect(await platform.waitForRun(runId)).toBe('success');
      return Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.state]));
    };
    const base = { count_orders: 'success', any_orders: 'success', pick_path: 'success', summarize: 'success', latest_only: 'success', notify: 'success' };
    expect(await states({ orders: 12 })).toEqual({ ...base, bulk_ship: 'success', single_ship: 'skipped' });
    expect(await states({})).toEqual({ ...base, bulk_ship: 'skipped', single_ship: 'success' });
    expect(await states({ orders: 0 })).toEqual({
      count_orders: 'success',
      any_orders: 'success',
      pick_path: 'skipped',
      bulk_ship: 'skipped',
      single_ship: 'skipped',
      summarize: 'skipped',
      latest_only: 'success',
      notify: 'skipped',
    });
  });

  it('runs the trigger_rules example: cleanup always, alert on failure, publish on success', async () => {
    const outcome = async (conf: Record<string, unknown>) => {
      const runId = await platform.trigger('trigger_rules', conf);
      const state = await platform.waitForRun(runId);
      return [state, Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.state]))];
    };
    expect(await outcome({})).toEqual(['success', { extract: 'success', load: 'success', audit: 'success', publish: 'success', cleanup: 'success', alert: 'skipped' }]);
    expect(await outcome({ fail: true })).toEqual([
      'failed', // failRunOnAnyFailure: the cleanup leaf succeeding does not hide it
      { extract: 'success', load: 'failed', audit: 'upstream_failed', publish: 'upstream_failed', cleanup: 'success', alert: 'success' },
    ]);
    expect(await outcome({ audit: false })).toEqual(['success', { extract: 'success', load: 'success', audit: 'skipped', publish: 'skipped', cleanup: 'success', alert: 'skipped' }]);
  });

  it('runs the tutorial_taskflow example: extract, transform, load', async () => {
    const runId = await platform.trigger('tutorial_taskflow');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]))).toEqual({
      extract: { '1001': 301.27, '1002': 433.21, '1003': 502.22 },
      transform: { total_order_value: 1236.7 },
      load: 1236.7,
    });
  });

  it('runs the mapping_fanout example: 1,000 mapped instances, the exact sum, each instance listed by the API', async () => {
    const runId = await platform.trigger('mapping_fanout');
    expect(await platform.waitForRun(runId, 120_000)).toBe('success');
    const instances = await platform.taskInstances(runId);
    expect(instances.find((ti) => ti.taskId === 'sum')!.returnValue).toBe(500_500);
    const data = await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: { mapIndex: number; state: string; mapItem: number } }> } } }>(
      platform,
      `{ dagRun(id: "${runId}") { taskInstances(taskId: "echo", first: 1000) { edges { node { mapIndex state mapItem } } } } }`,
    );
    const echoes = data.dagRun.taskInstances.edges.map((e) => e.node);
    expect(echoes).toHaveLength(1000);
    expect(new Set(echoes.map((ti) => ti.mapIndex)).size).toBe(1000);
    expect(echoes.every((ti) => ti.state === 'success' && ti.mapItem === ti.mapIndex + 1)).toBe(true);
  });

  it('runs the sensor_file example: the sensor finds the file named by the params', async () => {
    const file = path.join(await dagFolder({ 'ready.txt': 'twelve bytes' }), 'ready.txt');
    const runId = await platform.trigger('sensor_file', { path: file });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]))).toEqual({
      file_arrived: file,
      measure: { path: file, bytes: 12 },
    });
    await expect(platform.trigger('sensor_file', { path: '' })).rejects.toThrow('conf.path must NOT have fewer than 1 characters');
  });

  it('runs the daily_report example: parallel extracts, a join, ordering without data, conf', async () => {
    const runId = await platform.trigger('daily_report', { title: 'Revenue' });
    expect(await platform.waitForRun(runId)).toBe('success');
    const values = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]));
    expect(values).toEqual({
      extract_sales: [{ region: 'emea', amount: 400 }, { region: 'emea', amount: 42 }],
      extract_sales__1: [{ region: 'amer', amount: 400 }, { region: 'amer', amount: 42 }],
      extract_sales__2: [{ region: 'apac', amount: 400 }, { region: 'apac', amount: 42 }],
      total: 1326,
      report: expect.stringMatching(/^Revenue for \d{4}-\d{2}-\d{2}: 1326$/),
      publish: null,
    });
  });

  it('gives a task its context: ids, try, logical date, conf and params, logger, signal', async () => {
    const runId = await platform.trigger('introspect', { answer: 42 });
    expect(await platform.waitForRun(runId)).toBe('success');
    const run = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    const [whoami] = await platform.taskInstances(runId);
    expect(whoami!.returnValue).toEqual({
      dagId: 'introspect',
      runId: run.runId,
      dagRunId: runId,
      taskId: 'whoami',
      mapIndex: -1,
      tryNumber: 1,
      maxTries: 5,
      logicalDate: run.logicalDate.toISOString(),
      // A manual run of an unscheduled DAG: an empty interval at its logical date (Airflow's). Dates arrive as Dates.
      dataIntervalStart: run.logicalDate,
      dataIntervalEnd: run.logicalDate,
      conf: { answer: 42 },
      params: { answer: 42 },
      idempotencyKey: `introspect/${run.runId}/whoami`,
      aborted: false,
      logIsFunction: true,
    });
    const logs = await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstance: { dagRunId: runId } } } });
    expect(logs.map((l) => [l.level, l.message, l.fields])).toEqual([['debug', 'looking', { at: 'myself' }]]);
  });

  it('retries a task that throws twice and records all three tries', async () => {
    const runId = await platform.trigger('retrying');
    expect(await platform.waitForRun(runId)).toBe('success');
    const ti = await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: runId }, include: { tries: { orderBy: { tryNumber: 'asc' } }, xcoms: true } });
    expect(ti).toMatchObject({ state: 'success', tryNumber: 3, maxTries: 3 });
    expect(ti.tries.map((t) => [t.tryNumber, t.state, (t.error as { message?: string } | null)?.message ?? null])).toEqual([
      [1, 'failed', 'try 1 failed'],
      [2, 'failed', 'try 2 failed'],
      [3, 'success', null],
    ]);
    expect(ti.xcoms[0]!.value).toBe('third time lucky');
    for (const [before, after] of [[0, 1], [1, 2]] as const) {
      expect(ti.tries[after]!.startedAt.getTime() - ti.tries[before]!.endedAt!.getTime()).toBeGreaterThanOrEqual(290); // retryDelay
    }
  });

  it('fails a task without retries on NonRetryableError, marks its downstream upstream_failed and fails the run', async () => {
    const runId = await platform.trigger('failing');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const states = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, [ti.state, ti.tryNumber]]));
    expect(states).toEqual({ start: ['success', 1], boom: ['failed', 1], after: ['upstream_failed', 0], sibling: ['success', 1] });
  });

  it('delivers values through a diamond faithfully (a Date arrives as a Date) with literals and conf', async () => {
    const runId = await platform.trigger('diamond', { who: 'tests' });
    expect(await platform.waitForRun(runId)).toBe('success');
    const join = (await platform.taskInstances(runId)).find((ti) => ti.taskId === 'join')!;
    expect(join.returnValue).toEqual([20, new Date('2026-01-02T03:04:05.000Z'), 'lit', 'tests', true]);
  });

  it('runs a fan-in after all of its 30 upstreams, which finish concurrently', async () => {
    const runIds = await Promise.all([platform.trigger('wide'), platform.trigger('wide')]);
    for (const runId of runIds) {
      expect(await platform.waitForRun(runId)).toBe('success');
      const sum = (await platform.taskInstances(runId)).find((ti) => ti.taskId === 'sum')!;
      expect(sum).toMatchObject({ state: 'success', tryNumber: 1, returnValue: 435 });
    }
  });

  it("stores a return value PostgreSQL's jsonb refuses (a NUL) faithfully; log lines are made storable", async () => {
    const runId = await platform.trigger('unstorable');
    expect(await platform.waitForRun(runId)).toBe('success');
    const [ti] = await platform.db.prisma.taskInstance.findMany({ where: { dagRunId: runId }, include: { tries: { include: { logs: { orderBy: { seq: 'asc' } } } } } });
    expect((await platform.taskInstances(runId))[0]!.returnValue).toBe('x\u0000y');
    expect(ti!.tries[0]!.logs.map((l) => [l.message, l.fields])).toEqual([
      ['a\uFFFDb', { text: 'c\uFFFDd' }],
      ['circular', { unserializableFields: expect.stringContaining('circular') }],
    ]);
  });

  it('fails a try that runs past its timeout and aborts its signal', async () => {
    const runId = await platform.trigger('slow');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } } });
    expect(tries).toHaveLength(1);
    expect(tries[0]!.error).toMatchObject({ name: 'TaskTimeout', message: 'the task ran longer than its timeout of 200 ms' });
    expect(tries[0]!.endedAt!.getTime() - tries[0]!.startedAt.getTime()).toBeLessThan(4000);
  });

  it('runs each run on the bundle version it was created with, even after a new deploy', async () => {
    // `wait` holds a run until the gate file exists, so that `v` starts after version two is deployed.
    const pinned = (value: string) => `
import { existsSync } from 'node:fs';
import { context, dag, task } from '@updraft/sdk';
const wait = task('wait', async () => { while (!existsSync(String(context().conf.gate))) await new Promise((r) => setTimeout(r, 10)); });
const v = task('v', () => '${value}');
export default dag({ id: 'pinned' }, () => { v().after(wait()); });`;
    const dir = await dagFolder({ 'pinned.ts': pinned('one') });
    await platform.deploy(dir);
    const gate = path.join(dir, 'gate');
    const first = await platform.trigger('pinned', { gate });
    await writeDagFiles(dir, { 'pinned.ts': pinned('two') });
    expect((await platform.deploy(dir)).dags).toEqual([expect.objectContaining({ dagId: 'pinned', versionNumber: 2 })]);
    const second = await platform.trigger('pinned', { gate });
    await writeDagFiles(dir, { gate: '' });
    expect(await platform.waitForRun(first)).toBe('success');
    expect(await platform.waitForRun(second)).toBe('success');
    expect((await platform.taskInstances(first)).find((ti) => ti.taskId === 'v')!.returnValue).toBe('one');
    expect((await platform.taskInstances(second)).find((ti) => ti.taskId === 'v')!.returnValue).toBe('two');
  });
});
