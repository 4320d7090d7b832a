// Callbacks: task-level onSuccess/onFailure/onRetry/onSkip and DAG-level onSuccess/onFailure,
// logged with the try; one that throws is logged and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'callbacks.ts': `
import { context, dag, NonRetryableError, SkipError, task } from '@updraft/sdk';
const say = (what: string) => (ctx: { taskId: string; tryNumber: number; error?: { name: string; message: string } }) =>
  context().log.info(what + ' ' + ctx.taskId + '#' + ctx.tryNumber + (ctx.error ? ' ' + ctx.error.name + ': ' + ctx.error.message : ''));
const ok = task({ id: 'ok', onSuccess: say('succeeded') }, () => 1);
const flaky = task({ id: 'flaky', retries: 1, retryDelay: 0, onRetry: say('retrying'), onFailure: say('gave up') }, () => { throw new Error('nope'); });
const skip = task({ id: 'skip', onSkip: say('skipped') }, () => { throw new SkipError('not today'); });
const broken = task({ id: 'broken', onSuccess: () => { throw new Error('callback boom'); } }, () => 'still fine');
const inWorker = task({ id: 'in_worker', isolation: 'none', onSuccess: say('succeeded in the worker') }, () => 2);
const fails = task('fails', () => { throw new NonRetryableError('bad'); });
const plain = task('plain', () => 3);
export default dag({ id: 'task_callbacks' }, () => { ok(); flaky(); skip(); broken(); inWorker(); });
export const defaults = dag({ id: 'default_callbacks', defaultArgs: { onFailure: say('default failure') } }, () => { fails(); plain(); });
export const runOk = dag({ id: 'run_ok', onSuccess: (ctx) => ctx.log.info('run ' + ctx.runId + ' ended ' + ctx.state), onFailure: () => { throw new Error('not called'); } }, () => { plain(); });
export const runFails = dag({ id: 'run_fails', onFailure: (ctx) => { ctx.log.warn('run ended ' + ctx.state); throw new Error('alerting is down'); } }, () => { fails(); });
`,
};

describe('callbacks', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 4);
  });
  afterAll(() => platform.close());

  async function logsOf(runId: number, taskId: string) {
    const tries = await platform.db.prisma.taskTry.findMany({
      where: { taskInstance: { dagRunId: runId, taskId } },
      include: { logs: { orderBy: { seq: 'asc' } } },
      orderBy: { tryNumber: 'asc' },
    });
    return tries.map((t) => t.logs.map((l) => `${l.level}: ${l.message}`));
  }

  it('calls each task callback with the try context, in the task process, and logs it with the try', async () => {
    const runId = await platform.trigger('task_callbacks');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await logsOf(runId, 'ok')).toEqual([['info: succeeded ok#1']]);
    expect(await logsOf(runId, 'flaky')).toEqual([
      ['error: Try 1 failed: nope', 'info: retrying flaky#1 Error: nope'],
      ['error: Try 2 failed: nope', 'info: gave up flaky#2 Error: nope'],
    ]);
    expect(await logsOf(runId, 'skip')).toEqual([['info: Skipped: not today', 'info: skipped skip#1']]);
    expect(await logsOf(runId, 'in_worker')).toEqual([['info: succeeded in the worker in_worker#1']]);
  });

  it('logs a callback that throws and keeps the outcome', async () => {
    const runId = await platform.trigger('task_callbacks');
    await platform.waitForRun(runId);
    const [broken] = await platform.taskInstances(runId).then((tis) => tis.filter((ti) => ti.taskId === 'broken'));
    expect(broken).toMatchObject({ state: 'success', returnValue: 'still fine' });
    expect(await logsOf(runId, 'broken')).toEqual([['error: the onSuccess callback failed: Error: callback boom']]);
  });

  it("takes callbacks from the DAG's defaultArgs", async () => {
    const runId = await platform.trigger('default_callbacks');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await logsOf(runId, 'fails')).toEqual([['error: Try 1 failed: bad', 'info: default failure fails#1 NonRetryableError: bad']]);
    expect(await logsOf(runId, 'plain')).toEqual([[]]);
  });

  it("calls the DAG's run callback for the run's end, logged with the try that ended it; a throwing one changes nothing", async () => {
    const ok = await platform.trigger('run_ok');
    expect(await platform.waitForRun(ok)).toBe('success');
    const run = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: ok } });
    await expect.poll(() => logsOf(ok, 'plain')).toEqual([[`info: run ${run.runId} ended success`]]);

    const failing = await platform.trigger('run_fails');
    expect(await platform.waitForRun(failing)).toBe('failed');
    await expect
      .poll(() => logsOf(failing, 'fails'))
      .toEqual([['error: Try 1 failed: bad', 'warn: run ended failed', "error: the DAG's onFailure callback failed: Error: alerting is down"]]);
    expect((await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: failing } })).state).toBe('failed');
  });
});
