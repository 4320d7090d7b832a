// A claimed try always ends: a failure injected at each step between the claim and the
// record (DAG structure, arguments, bundle, the task itself, the finishing transaction)
// ends the try with a recorded reason, and a try that no live worker holds is swept.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/src/db/pool.js';
import { recoverLostTries } from '../server/src/executor/recovery.js';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

const dagFile = (id: string) => `
import { dag, task } from '@updraft/sdk';
const first = task('first', () => 1);
const second = task('second', (n: number) => n + 1);
export default dag({ id: '${id}' }, () => { second(first()); });
`;

describe('a claimed try', () => {
  let platform: TestPlatform;
  let bundleFile: string;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const steps = ['f_structure', 'f_args', 'f_finish'];
    expect((await platform.deploy(await dagFolder(Object.fromEntries(steps.map((id) => [`${id}.ts`, dagFile(id)]))))).importErrors).toEqual([]);
    const bundle = await platform.deploy(await dagFolder({ 'f_bundle.ts': dagFile('f_bundle') }));
    bundleFile = path.join(platform.cacheDir, `${bundle.bundleHash}.cjs`);
  });
  afterAll(() => platform.close());

  async function tries(runId: number) {
    const rows = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: true }, orderBy: { id: 'asc' } });
    return rows.map((t) => [t.taskInstance.taskId, t.state, (t.error as { name?: string } | null)?.name ?? null]);
  }

  async function corruptStructure(dagId: string, change: string) {
    await platform.db.prisma.$executeRawUnsafe(`UPDATE dag_version SET structure = ${change} WHERE dag_id = $1`, dagId);
  }

  it('ends when its DAG structure no longer has the task: the try, the instance and the run fail', async () => {
    const runId = await platform.trigger('f_structure'); // creates the run's task instances from the good structure
    await corruptStructure('f_structure', `jsonb_set(structure, '{tasks}', '[]')`);
    // A pool of its own: the worker must read the structure anew, not from the trigger's cache.
    await platform.startWorker(2, { pool: createPool(platform.db.url, { onError: () => undefined }) });
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await tries(runId)).toEqual([['first', 'failed', 'RecordFailed']]);
  });

  it('ends when its arguments cannot be resolved', async () => {
    await corruptStructure('f_args', `jsonb_set(structure, '{tasks,1,args}', '[{"xcom": null}]')`);
    const runId = await platform.trigger('f_args');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await tries(runId)).toEqual([
      ['first', 'success', null],
      ['second', 'failed', 'TaskSetupFailed'],
    ]);
  });

  it('ends when its bundle cannot be loaded', async () => {
    await fs.writeFile(bundleFile, 'this is not JavaScript (');
    const runId = await platform.trigger('f_bundle');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await tries(runId)).toEqual([['first', 'failed', 'SyntaxError']]);
  });

  it('ends when the finishing transaction keeps deadlocking: recorded without its result', async () => {
    await platform.db.prisma.$executeRawUnsafe(`
      CREATE FUNCTION deadlock_forever() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01'; END $$`);
    await platform.db.prisma.$executeRawUnsafe(`CREATE TRIGGER xcom_deadlock BEFORE INSERT ON xcom FOR EACH ROW EXECUTE FUNCTION deadlock_forever()`);
    try {
      const runId = await platform.trigger('f_finish');
      expect(await platform.waitForRun(runId)).toBe('failed');
      expect(await tries(runId)).toEqual([['first', 'failed', 'RecordFailed']]);
      const [failed] = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } } });
      expect((failed!.error as { message: string }).message).toMatch(/^could not record the try: injected deadlock/);
    } finally {
      await platform.db.prisma.$executeRawUnsafe(`DROP TRIGGER xcom_deadlock ON xcom`);
    }
  });

  it('is swept when its worker is alive but no longer holds it', async () => {
    const runId = await platform.trigger('f_finish');
    expect(await platform.waitForRun(runId)).toBe('success');
    // A try left `running` by a live worker that forgot it (what every path above prevents).
    const ti = await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: runId, taskId: 'second' } });
    await platform.db.prisma.$executeRaw`INSERT INTO worker (id, hostname, pid, concurrency, running_try_ids) VALUES ('forgetful', 'h', 1, 1, '{}')`;
    await platform.db.prisma.$executeRaw`UPDATE dag_run SET state = 'running' WHERE id = ${runId}`;
    await platform.db.prisma.$executeRaw`UPDATE task_instance SET state = 'running', try_number = 2, max_tries = 1 WHERE id = ${ti.id}`;
    await platform.db.prisma.$executeRaw`INSERT INTO task_try (task_instance_id, try_number, state, worker_id, started_at) VALUES (${ti.id}, 2, 'running', 'forgetful', now() - interval '10 seconds')`;

    const { tries: swept } = await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 60_000 });
    expect(swept).toEqual([expect.objectContaining({ workerId: 'forgetful', taskId: 'second', reason: 'TryAbandoned', result: { taskState: 'failed', runState: 'failed' } })]);
  });

  it('leaves no try running after all of that', async () => {
    expect(await platform.db.prisma.taskTry.count({ where: { state: 'running' } })).toBe(0);
    expect(await platform.db.prisma.dagRun.count({ where: { state: 'running' } })).toBe(0);
  });
});

describe('a job whose delivery was lost', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder({ 'lost_job.ts': dagFile('lost_job') }))).importErrors).toEqual([]);
  });
  afterAll(() => platform.close());

  it('is unlocked after a minute without its claim, and runs', async () => {
    const runId = await platform.trigger('lost_job');
    // What a worker whose connection died right after get_job locked the job leaves behind.
    await platform.db.prisma.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_by = 'ghost-slot', locked_at = now() - interval '2 minutes'`;
    expect((await recoverLostTries(platform.pool)).releasedSlots).toBe(1);
    expect(await platform.db.prisma.$queryRaw`SELECT locked_by FROM graphile_worker._private_jobs`).toEqual([{ locked_by: null }]);
    await platform.startWorker(1);
    expect(await platform.waitForRun(runId)).toBe('success');
  });

  it('is unlocked and dropped when its try was recorded but its completion was lost', async () => {
    const [done] = await platform.db.prisma.taskInstance.findMany({ where: { taskId: 'second', state: 'success' } });
    // The try was recorded, then the database went away before graphile-worker deleted the job.
    // (One transaction: the running worker must not see the job before it is locked.)
    await platform.db.prisma.$transaction([
      platform.db.prisma.$executeRaw`SELECT graphile_worker.add_job('run_task', json_build_object('taskInstanceId', ${String(done!.id)}::text))`,
      platform.db.prisma.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_by = 'ghost-slot', locked_at = now() - interval '2 minutes'`,
    ]);
    expect((await recoverLostTries(platform.pool)).releasedSlots).toBe(1);
    const deadline = Date.now() + 20_000;
    while ((await platform.db.prisma.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs`).length > 0) {
      if (Date.now() > deadline) throw new Error('the released job was never run');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await platform.db.prisma.taskTry.count({ where: { taskInstanceId: done!.id } })).toBe(1); // dropped by the claim, not run again
  });

  it('is left alone while locked for less than a minute', async () => {
    const runId = await platform.trigger('lost_job');
    await platform.db.prisma.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_by = 'busy-slot', locked_at = now() - interval '10 seconds' WHERE locked_by IS NULL`;
    expect((await recoverLostTries(platform.pool)).releasedSlots).toBe(0);
    await platform.db.prisma.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_by = NULL, locked_at = NULL WHERE locked_by = 'busy-slot'`;
    expect(await platform.waitForRun(runId)).toBe('success');
  });
});
