// Task code runs in task processes: whatever it does to its process ends only that
// process, the try is recorded with the reason, and the worker (and the API beside it in
// the same process) keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../server/src/executor/worker.js';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

const DAGS = {
  'crash.ts': `
import { dag, task } from '@updraft/sdk';
const quit = task('quit', () => { process.stderr.write('leaving now\\n'); process.exit(3); });
export default dag({ id: 'crash' }, () => { quit(); });
`,
  'hog.ts': `
import { dag, task } from '@updraft/sdk';
const hog = task({ id: 'hog', memoryLimit: '128MB' }, () => {
  const keep: number[][] = [];
  for (;;) keep.push(new Array(1e5).fill(Math.random()));
});
export default dag({ id: 'hog' }, () => { hog(); });
`,
  'spin.ts': `
import { dag, task } from '@updraft/sdk';
const spin = task({ id: 'spin', timeout: '1s' }, () => {
  const end = Date.now() + 45_000;
  while (Date.now() < end) {}
  return 'finished the loop';
});
export default dag({ id: 'spin' }, () => { spin(); });
`,
  'huge.ts': `
import { dag, task } from '@updraft/sdk';
// 1.1 GB of JSON from 1 MB of memory: the same string 1,100 times.
const huge = task('huge', () => { const mb = 'x'.repeat(1024 * 1024); return Array.from({ length: 1100 }, () => mb); });
export default dag({ id: 'huge' }, () => { huge(); });
`,
  'env.ts': `
import { dag, task } from '@updraft/sdk';
const env = task('env', () => ({ ...process.env }));
export default dag({ id: 'env' }, () => { env(); });
`,
  'where.ts': `
import { dag, task } from '@updraft/sdk';
const isolated = task('isolated', () => process.pid);
const inWorker = task({ id: 'in_worker', isolation: 'none' }, () => process.pid);
export default dag({ id: 'where' }, () => { isolated(); inWorker(); });
`,
  'shutdown.ts': `
import { context, dag, task } from '@updraft/sdk';
const long = task('long', async () => {
  if (context().tryNumber === 1) await new Promise((r) => setTimeout(r, 60_000));
  return 'done on try ' + context().tryNumber;
});
const brief = task('brief', async () => { await new Promise((r) => setTimeout(r, 300)); return 'brief'; });
export default dag({ id: 'shutdown' }, () => { long(); brief(); });
`,
};

describe('isolated task processes', () => {
  let platform: TestPlatform;
  let firstWorker: Worker;
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder(DAGS))).importErrors).toEqual([]);
    firstWorker = await platform.startWorker(4);
  });
  afterAll(() => platform.close());

  async function onlyTry(runId: number) {
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { logs: true } });
    expect(tries).toHaveLength(1);
    return { ...tries[0]!, error: tries[0]!.error as { name: string; message: string } };
  }

  it('records a task that calls process.exit() as TaskCrashed, with its last output', async () => {
    const runId = await platform.trigger('crash');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const t = await onlyTry(runId);
    expect(t.error.name).toBe('TaskCrashed');
    expect(t.error.message).toMatch(/^the task's process exited with code 3 while running the task; its last output:\nleaving now/);
  });

  it('stops a task that allocates without bound at its memoryLimit: MemoryLimit', async () => {
    const runId = await platform.trigger('hog');
    expect(await platform.waitForRun(runId, 60_000)).toBe('failed');
    const t = await onlyTry(runId);
    expect(t.error).toMatchObject({ name: 'MemoryLimit', message: "the task's process went over its memory limit of 128 MB and was stopped" });
  });

  it('kills a task that busy-loops past its timeout, never records it a success, and keeps this process responsive', async () => {
    const runId = await platform.trigger('spin');
    // The worker and whatever shares its process (here: this test; in `updraft start`: the API) keep answering.
    const lags: number[] = [];
    while ((await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).state === 'running') {
      const before = Date.now();
      await new Promise((r) => setTimeout(r, 50));
      lags.push(Date.now() - before - 50);
    }
    expect(Math.max(...lags)).toBeLessThan(2_000); // in-process, the loop blocked everything for 45 s
    const t = await onlyTry(runId);
    expect(t.error).toMatchObject({ name: 'TaskTimeout', message: 'the task ran longer than its timeout of 1000 ms and was killed 1000 ms after its signal was aborted' });
    expect(t.endedAt!.getTime() - t.startedAt.getTime()).toBeLessThan(15_000); // not 45 s
    expect((await platform.taskInstances(runId))[0]!.state).toBe('failed');
  });

  it('fails a task returning over 1 GB with ResultNotStorable, naming the task and the size, without building its text', async () => {
    const runId = await platform.trigger('huge');
    expect(await platform.waitForRun(runId, 60_000)).toBe('failed');
    const t = await onlyTry(runId);
    expect(t.error.name).toBe('ResultNotStorable');
    expect(t.error.message).toMatch(/^Task "huge" returned a value that is more than 1 GB when serialized; the most an XCom value may be is 1 GB/);
  });

  it('keeps serving other tasks after all of that, in a fresh task process', async () => {
    const runId = await platform.trigger('where');
    const state = await platform.waitForRun(runId);
    expect(state, JSON.stringify(await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, select: { error: true } }))).toBe('success');
    const pids = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]));
    expect(pids.in_worker).toBe(process.pid); // isolation: 'none' runs in the worker's process
    expect(pids.isolated).not.toBe(process.pid);
  });

  it('gives task code no database credentials in its environment', async () => {
    const secretEnv = { DATABASE_URL: platform.db.url, PGPASSWORD: 'from-env', UPDRAFT_SECRET_KEY: 'k'.repeat(16), MY_DB: platform.db.url, HARMLESS: 'kept' };
    await firstWorker.stop(); // it started before the variables were set
    Object.assign(process.env, secretEnv);
    const worker = await platform.startWorker(1);
    try {
      const runId = await platform.trigger('env');
      expect(await platform.waitForRun(runId)).toBe('success');
      const [ti] = await platform.taskInstances(runId);
      const seen = ti!.returnValue as Record<string, string>;
      const password = decodeURIComponent(new URL(platform.db.url).password);
      expect(password.length).toBeGreaterThan(8);
      expect(Object.keys(seen)).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
      for (const name of ['DATABASE_URL', 'PGPASSWORD', 'UPDRAFT_SECRET_KEY', 'MY_DB']) expect(seen[name], name).toBeUndefined();
      expect(Object.values(seen).filter((v) => v.includes(password))).toEqual([]);
      expect(seen.HARMLESS).toBe('kept');
      // DAG files are user code too: at deploy they load without the credentials either.
      const probe = `import { dag } from '@updraft/sdk';\nexport default dag({ id: 'env_probe', description: process.env.DATABASE_URL ?? 'no DATABASE_URL' }, () => {});`;
      expect((await platform.deploy(await dagFolder({ 'probe.ts': probe }))).importErrors).toEqual([]);
      expect((await platform.db.prisma.dag.findUniqueOrThrow({ where: { id: 'env_probe' } })).description).toBe('no DATABASE_URL');
    } finally {
      for (const name of Object.keys(secretEnv)) delete process.env[name];
      await worker.stop();
    }
  });
});

describe('a worker shutting down', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder({ 'shutdown.ts': DAGS['shutdown.ts'] }))).importErrors).toEqual([]);
  });
  afterAll(() => platform.close());

  it('lets running tries finish within the grace period, then aborts the rest, which retry without using up a retry', async () => {
    const worker = await platform.startWorker(2, { shutdownGraceMs: 1_000, killGraceMs: 200 });
    const runId = await platform.trigger('shutdown');
    const deadline = Date.now() + 20_000;
    while ((await platform.db.prisma.taskInstance.count({ where: { dagRunId: runId, OR: [{ taskId: 'long', state: 'running' }, { taskId: 'brief', tryNumber: 1 }] } })) < 2) {
      if (Date.now() > deadline) throw new Error(`the tasks never started: ${JSON.stringify(await platform.taskInstances(runId))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await worker.stop();
    const byTask = async () =>
      Object.fromEntries(
        (await platform.db.prisma.taskInstance.findMany({ where: { dagRunId: runId }, include: { tries: { orderBy: { tryNumber: 'asc' } } } })).map((ti) => [
          ti.taskId,
          { state: ti.state, maxTries: ti.maxTries, tries: ti.tries.map((t) => [t.state, (t.error as { name?: string } | null)?.name ?? null]) },
        ]),
      );
    expect(await byTask()).toEqual({
      brief: { state: 'success', maxTries: 1, tries: [['success', null]] },
      long: { state: 'up_for_retry', maxTries: 2, tries: [['failed', 'WorkerShutdown']] },
    });

    await platform.startWorker(2);
    expect(await platform.waitForRun(runId)).toBe('success');
    expect((await byTask()).long).toEqual({ state: 'success', maxTries: 2, tries: [['failed', 'WorkerShutdown'], ['success', null]] });
  });
});
