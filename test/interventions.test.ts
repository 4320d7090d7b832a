// What an operator does by hand, end to end through the API: clear, mark, cancel, delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, dagFolder, graphql, type TestPlatform } from './support/platform.js';

const DAGS = {
  'flaky.ts': `
import { context, dag, task } from '@updraft/sdk';
const extract = task('extract', () => 1);
const load = task('load', (n: number) => {
  if (context().tryNumber === 1) throw new Error('first try fails');
  return n + 1;
});
const report = task('report', (n: number) => 'loaded ' + n);
export default dag({ id: 'flaky', defaultArgs: { isolation: 'none' } }, () => { report(load(extract())); });
`,
  'slow.ts': `
import { context, dag, task } from '@updraft/sdk';
const wait = task({ id: 'wait', retries: 2, retryDelay: 0 }, () => {
  const { signal } = context();
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
});
const after = task('after', () => 'after');
export default dag({ id: 'slow' }, () => { after().after(wait()); });
`,
  'mapped.ts': `
import { context, dag, task } from '@updraft/sdk';
const each = task('each', (n: number) => {
  if (n === 2 && context().tryNumber === 1) throw new Error('item 2 fails once');
  return n * 10;
});
const sum = task('sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
export default dag({ id: 'mapped', defaultArgs: { isolation: 'none' } }, () => { sum(each.map([1, 2, 3])); });
`,
};

describe('operator actions', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const { importErrors } = await platform.deploy(await dagFolder(DAGS));
    expect(importErrors).toEqual([]);
    // A short heartbeat, so that running tries are stopped soon after a cancel or a mark.
    await platform.startWorker(4, { lostWorkerTimeoutMs: 1_000 });
  });
  afterAll(() => platform.close());

  const act = <T>(query: string, variables: Record<string, unknown>) => graphql<T>(platform, query, variables);
  const CLEAR = `mutation ($input: ClearTaskInstancesInput!) { clearTaskInstances(input: $input) { changed dagRun { state } } }`;
  const MARK = `mutation ($input: MarkTaskInstancesInput!) { markTaskInstances(input: $input) { changed dagRun { state } } }`;

  async function states(runId: number) {
    return Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.mapIndex < 0 ? ti.taskId : `${ti.taskId}[${ti.mapIndex}]`, `${ti.state}/${ti.tryNumber}`]));
  }

  async function waitFor(runId: number, predicate: (s: Record<string, string>) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const now = await states(runId);
      if (predicate(now)) return now;
      if (Date.now() > deadline) throw new Error(`run ${runId} never got there: ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('clearing a failed task of a finished run reruns it and its downstream, keeps the tries, and the run ends success', async () => {
    const runId = await platform.trigger('flaky');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await states(runId)).toEqual({ extract: 'success/1', load: 'failed/1', report: 'upstream_failed/0' });

    const data = await act<{ clearTaskInstances: { changed: number; dagRun: { state: string } } }>(CLEAR, { input: { dagRunId: String(runId), taskIds: ['load'], downstream: true } });
    expect(data.clearTaskInstances).toEqual({ changed: 2, dagRun: { state: 'running' } });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ extract: 'success/1', load: 'success/2', report: 'success/1' });
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'load' } }, orderBy: { tryNumber: 'asc' } });
    expect(tries.map((t) => [t.tryNumber, t.state])).toEqual([
      [1, 'failed'],
      [2, 'success'],
    ]);
    expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 'report')!.returnValue).toBe('loaded 2');
  });

  it('clears only the failed instances with onlyFailed, and only the chosen mapped instances with mapIndexes', async () => {
    const runId = await platform.trigger('flaky');
    expect(await platform.waitForRun(runId)).toBe('failed');
    await act(CLEAR, { input: { dagRunId: String(runId), taskIds: ['extract'], downstream: true, onlyFailed: true } });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ extract: 'success/1', load: 'success/2', report: 'success/1' });

    const mapped = await platform.trigger('mapped');
    expect(await platform.waitForRun(mapped)).toBe('failed');
    expect(await states(mapped)).toEqual({ 'each[0]': 'success/1', 'each[1]': 'failed/1', 'each[2]': 'success/1', sum: 'upstream_failed/0' });
    await act(CLEAR, { input: { dagRunId: String(mapped), taskIds: ['each'], mapIndexes: [1], downstream: true } });
    expect(await platform.waitForRun(mapped)).toBe('success');
    expect(await states(mapped)).toEqual({ 'each[0]': 'success/1', 'each[1]': 'success/2', 'each[2]': 'success/1', sum: 'success/1' });
    expect((await platform.taskInstances(mapped)).find((ti) => ti.taskId === 'sum')!.returnValue).toBe(60);
  });

  it('marks a failed task success, with its downstream, and the run is decided again', async () => {
    const runId = await platform.trigger('flaky');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const data = await act<{ markTaskInstances: { changed: number } }>(MARK, { input: { dagRunId: String(runId), taskIds: ['load'], state: 'success', downstream: true } });
    expect(data.markTaskInstances.changed).toBe(2);
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ extract: 'success/1', load: 'success/1', report: 'success/0' });
  });

  it('marking a running task failed stops its try (TaskMarked, no retry), and its downstream is upstream_failed', async () => {
    const runId = await platform.trigger('slow');
    await waitFor(runId, (s) => s.wait === 'running/1');
    await act(MARK, { input: { dagRunId: String(runId), taskIds: ['wait'], state: 'failed' } });
    expect(await platform.waitForRun(runId)).toBe('failed');
    await waitFor(runId, () => true);
    const [t] = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'wait' } } });
    await expect.poll(async () => (await platform.db.prisma.taskTry.findUniqueOrThrow({ where: { id: t!.id } })).state, { timeout: 10_000 }).toBe('failed');
    const stopped = await platform.db.prisma.taskTry.findUniqueOrThrow({ where: { id: t!.id } });
    expect(stopped.error).toMatchObject({ name: 'TaskMarked', message: expect.stringContaining('the task instance was marked failed while the try was running') });
    expect(await states(runId)).toEqual({ wait: 'failed/1', after: 'upstream_failed/0' });
  });

  it('cancelling a run fails it at once; the running try gets its abort signal and ends RunCancelled without retrying; the rest never starts', async () => {
    const runId = await platform.trigger('slow');
    await waitFor(runId, (s) => s.wait === 'running/1');
    const data = await act<{ cancelDagRun: { dagRun: { state: string } } }>(`mutation ($id: ID!) { cancelDagRun(input: { id: $id }) { dagRun { state } } }`, { id: String(runId) });
    expect(data.cancelDagRun.dagRun.state).toBe('failed');
    expect((await states(runId)).after).toBe('skipped/0');
    const ended = await waitFor(runId, (s) => s.wait !== 'running/1');
    expect(ended).toEqual({ wait: 'failed/1', after: 'skipped/0' });
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'wait' } } });
    expect(tries.map((t) => [t.state, (t.error as { name: string }).name])).toEqual([['failed', 'RunCancelled']]);

    await expect(act(`mutation ($id: ID!) { cancelDagRun(input: { id: $id }) { changed } }`, { id: String(runId) })).rejects.toThrow(
      `DagRun ${runId} has already ended (failed); only a running run can be cancelled`,
    );
  });

  it('marks a whole run success', async () => {
    const runId = await platform.trigger('slow');
    await waitFor(runId, (s) => s.wait === 'running/1');
    await act(`mutation ($id: ID!) { markDagRun(input: { id: $id, state: success }) { changed } }`, { id: String(runId) });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ wait: 'success/1', after: 'success/0' });
  });

  it('says what is wrong with the selection', async () => {
    const runId = await platform.trigger('flaky');
    await platform.waitForRun(runId);
    await expect(act(CLEAR, { input: { dagRunId: String(runId), taskIds: ['nope'] } })).rejects.toThrow(`DAG \\"flaky\\" has no task \\"nope\\" in the version DagRun ${runId} runs`);
    await expect(act(CLEAR, { input: { dagRunId: '2147483647', taskIds: ['load'] } })).rejects.toThrow('DagRun 2147483647 does not exist');
    await expect(act(CLEAR, { input: { dagRunId: String(runId), taskIds: [] } })).rejects.toThrow('taskIds is empty: name at least one task');
    await expect(act(CLEAR, { input: { dagRunId: String(runId), taskIds: Array.from({ length: 10_001 }, (_, i) => `t${i}`) } })).rejects.toThrow('taskIds has 10001 entries; at most 10000');
  });

  it('deletes a DAG with its history; deploying its file brings it back without runs', async () => {
    const dir = await dagFolder({ 'gone.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'gone', defaultArgs: { isolation: 'none' } }, () => { task('t', () => 1)(); });\n` });
    await platform.deploy(dir);
    const runId = await platform.trigger('gone');
    await platform.waitForRun(runId);
    const data = await act<{ deleteDag: { deletedRuns: number } }>(`mutation { deleteDag(input: { id: "gone" }) { deletedRuns } }`, {});
    expect(data.deleteDag.deletedRuns).toBe(1);
    expect(await platform.db.prisma.dagRun.count({ where: { dagId: 'gone' } })).toBe(0);
    expect(await platform.db.prisma.taskInstance.count({ where: { dagRunId: runId } })).toBe(0);
    await expect(act(`{ dag(id: "gone") { id } }`, {})).rejects.toThrow('DAG \\"gone\\" does not exist');
    await expect(act(`mutation { deleteDag(input: { id: "gone" }) { deletedRuns } }`, {})).rejects.toThrow('DAG \\"gone\\" does not exist');
  });
});
