import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverLostTries } from '../server/src/executor/recovery.js';
import { UPDRAFT_BIN } from './support/cli.js';
import { createTestPlatform, dagFolder, REPO_ROOT, type TestPlatform } from './support/platform.js';

const SLOW_ON_FIRST_TRY = (id: string, retries: number) => `
import { context, dag, task } from '@updraft/sdk';
const work = task({ id: 'work', retries: ${retries}, retryDelay: 0 }, async () => {
  if (context().tryNumber === 1) await new Promise((r) => setTimeout(r, 60_000));
  return 'done on try ' + context().tryNumber;
});
const after = task('after', (s: string) => s + '!');
export default dag({ id: '${id}' }, () => { after(work()); });
`;

const SPINNING = `
import { dag, task } from '@updraft/sdk';
const work = task('work', () => { const end = Date.now() + 60_000; while (Date.now() < end) {} });
export default dag({ id: 'spinning' }, () => { work(); });
`;

/** Pids of the direct children of `pid` (Linux). */
function childPids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((thread) =>
    readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

describe('a worker killed mid-task', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const result = await platform.deploy(
      await dagFolder({ 'retried.ts': SLOW_ON_FIRST_TRY('retried', 1), 'no_retry.ts': SLOW_ON_FIRST_TRY('no_retry', 0), 'spinning.ts': SPINNING }),
    );
    expect(result.importErrors).toEqual([]);
  });
  afterAll(() => platform.close());

  /** Runs `updraft worker` in a child process until the run's `work` task is running on it. */
  async function workerRunning(runId: number, args: string[] = []) {
    const child = spawn(process.execPath, [UPDRAFT_BIN, 'worker', ...args], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: platform.db.url }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while ((await platform.db.prisma.taskInstance.findFirst({ where: { dagRunId: runId, taskId: 'work' } }))?.state !== 'running') {
      if (Date.now() > deadline) throw new Error('the worker never started the task');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, exited };
  }

  /** SIGKILLs a worker mid-task (after `settleMs`); returns the pids of its task processes at that moment. */
  async function killWorkerMidTask(runId: number, settleMs = 0): Promise<number[]> {
    const { child, exited } = await workerRunning(runId);
    await new Promise((r) => setTimeout(r, settleMs));
    const taskProcesses = childPids(child.pid!);
    child.kill('SIGKILL');
    await exited;
    return taskProcesses;
  }

  async function workTries(runId: number) {
    const work = await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: runId, taskId: 'work' }, include: { tries: { orderBy: { tryNumber: 'asc' } } } });
    return { state: work.state, maxTries: work.maxTries, tries: work.tries.map((t) => [t.state, (t.error as { name?: string } | null)?.name ?? null]) };
  }

  it('on SIGTERM, gives running tries its --grace, then aborts them: retried without using up a retry', async () => {
    const runId = await platform.trigger('no_retry');
    const { child, exited } = await workerRunning(runId, ['--grace', '1s']);
    const signalled = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1_000); // it waited for the grace period
    expect(await workTries(runId)).toEqual({ state: 'up_for_retry', maxTries: 2, tries: [['failed', 'WorkerShutdown']] });
    const worker = await platform.startWorker();
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
  });

  it('on a second signal, stops at once', async () => {
    const runId = await platform.trigger('no_retry');
    const { child, exited } = await workerRunning(runId, ['--grace', '10m']);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await workTries(runId)).toEqual({ state: 'up_for_retry', maxTries: 2, tries: [['failed', 'WorkerShutdown']] });
    const worker = await platform.startWorker();
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
  });

  it('is detected by its missing heartbeats; the try fails and is retried, and the run goes on', async () => {
    const runId = await platform.trigger('retried');
    await killWorkerMidTask(runId);
    expect((await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 60_000 })).tries).toEqual([]); // not yet overdue
    const [job] = await platform.db.prisma.$queryRaw<Array<{ id: bigint; locked_by: string | null }>>`SELECT id, locked_by FROM graphile_worker._private_jobs`;
    expect(job?.locked_by).toBeTruthy(); // the dead worker's job is locked

    await new Promise((r) => setTimeout(r, 300));
    const recovery = await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 200 });
    const lost = recovery.tries;
    expect(lost).toEqual([expect.objectContaining({ dagRunId: runId, taskId: 'work', tryNumber: 1, reason: 'WorkerLost', result: { taskState: 'up_for_retry', runState: null } })]);
    // Released at once: the dead worker's job is gone, and the retry is a new, unlocked job.
    expect(recovery.lostWorkers).toEqual([lost[0]!.workerId]);
    expect(recovery.deletedJobs).toBe(1);
    const jobs = await platform.db.prisma.$queryRaw<Array<{ id: bigint; locked_by: string | null }>>`SELECT id, locked_by FROM graphile_worker._private_jobs`;
    expect(jobs).toEqual([{ id: expect.any(BigInt), locked_by: null }]);
    expect(jobs[0]!.id).not.toBe(job!.id);

    const worker = await platform.startWorker();
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
    const work = await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: runId, taskId: 'work' }, include: { tries: { orderBy: { tryNumber: 'asc' } } } });
    expect(work.tries.map((t) => [t.tryNumber, t.state, (t.error as { name?: string } | null)?.name ?? null])).toEqual([
      [1, 'failed', 'WorkerLost'],
      [2, 'success', null],
    ]);
    expect((work.tries[0]!.error as { message: string }).message).toMatch(/^worker .+ stopped sending heartbeats while running this try/);
    expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 'after')!.returnValue).toBe('done on try 2!');
    const killed = await platform.db.prisma.worker.findUniqueOrThrow({ where: { id: lost[0]!.workerId } });
    expect(killed.stoppedAt).not.toBeNull();
  });

  it('takes its task processes with it, even one whose task never yields', async () => {
    const runId = await platform.trigger('spinning');
    const taskProcesses = await killWorkerMidTask(runId, 1_000); // the task is spinning by then
    expect(taskProcesses.length).toBeGreaterThan(0);
    const deadline = Date.now() + 10_000;
    while (taskProcesses.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(taskProcesses.filter(alive)).toEqual([]); // not still spinning for a minute
    await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 100 });
  });

  it('fails the task and its run when no retries are left', async () => {
    const runId = await platform.trigger('no_retry');
    await killWorkerMidTask(runId);
    await new Promise((r) => setTimeout(r, 300));
    const { tries: lost } = await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 200 });
    expect(lost.map((l) => l.result)).toEqual([{ taskState: 'failed', runState: 'failed' }]);
    const states = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.state]));
    expect(states).toEqual({ work: 'failed', after: 'upstream_failed' });
  });
});
