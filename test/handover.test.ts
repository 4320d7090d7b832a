import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

// A try that ends alone hands its slot to the one instance it made runnable (transitions.ts,
// ContinueWith): no job, no queue hop, and still recovered from heartbeats if its worker dies.
describe('continuing on the same worker', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const result = await platform.deploy(
      await dagFolder({
        'chains.ts': `import { chain, dag, task } from '@updraft/sdk';
const step = (id: string) => task(id, (n?: number) => (n ?? 0) + 1);
export default dag({ id: 'chain20' }, () => {
  let value = step('s00')();
  for (let i = 1; i < 20; i++) value = step('s' + String(i).padStart(2, '0'))(value);
});
const hold = task('hold', async () => {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
});
export const stalled = dag({ id: 'stalled_chain' }, () => {
  chain(task('first', () => 1)(), hold(), task('last', () => 2)());
});
// One finish makes two instances due, queued by two statements (the plain one, then the
// mapped one's expansion): the first was queued without a job, and must get one.
const one = task('one', () => [7]);
export const forked = dag({ id: 'forked' }, () => {
  const list = one();
  task('plain', (xs: number[]) => xs.length)(list);
  task('mapped', (x: number) => x * 2).map(list);
});
export const queues = dag({ id: 'queue_hop' }, () => {
  chain(task('cpu', () => 1)(), task({ id: 'gpu', queue: 'gpu' }, () => 2)(), task('cpu_again', () => 3)());
});`,
      }),
    );
    expect(result.importErrors).toEqual([]);
  });
  afterAll(() => platform.close());

  async function tries(runId: number) {
    const { rows } = await platform.pool.query<{ task_id: string; try_number: number; state: string; worker_id: string; job_id: string | null; error: { name: string } | null }>(
      `SELECT ti.task_id, tt.try_number, tt.state::text, tt.worker_id, tt.job_id::text, tt.error
       FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id WHERE ti.dag_run_id = $1 ORDER BY tt.started_at`,
      [runId],
    );
    return rows;
  }
  const jobsLeft = async () => (await platform.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier LIKE 'run_task%'`)).rows[0]!.n;

  /** How many jobs were ever added (the jobs' id sequence). */
  const jobsAdded = async () =>
    Number((await platform.pool.query<{ v: string }>(`SELECT (last_value - CASE WHEN is_called THEN 0 ELSE 1 END)::text AS v FROM ${(await platform.pool.query<{ s: string }>(`SELECT pg_get_serial_sequence('graphile_worker._private_jobs', 'id') AS s`)).rows[0]!.s}`)).rows[0]!.v);

  it('runs a chain in one slot: each try after the first starts without a job (none is even added), the values pass, and no job is left', async () => {
    const worker = await platform.startWorker(2);
    try {
      const jobsBefore = await jobsAdded();
      const runId = await platform.trigger('chain20');
      expect(await platform.waitForRun(runId)).toBe('success');
      const rows = await tries(runId);
      expect(rows.map((r) => r.task_id)).toEqual(Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`));
      expect(rows[0]!.job_id).not.toBeNull();
      expect(rows.slice(1).filter((r) => r.job_id !== null)).toEqual([]);
      expect(new Set(rows.map((r) => r.worker_id))).toEqual(new Set([worker.id]));
      expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 's19')!.returnValue).toBe(20);
      expect(await jobsLeft()).toBe(0);
      expect((await jobsAdded()) - jobsBefore).toBe(1); // the first task's
    } finally {
      await worker.stop();
    }
  });

  it('adds the job of an instance queued for continuing when the finish made a second one due', async () => {
    const worker = await platform.startWorker(1);
    try {
      const runId = await platform.trigger('forked');
      expect(await platform.waitForRun(runId, 15_000)).toBe('success');
      const rows = await tries(runId);
      expect(rows.map((r) => [r.task_id, r.state, r.job_id === null]).sort()).toEqual([
        ['mapped', 'success', false],
        ['one', 'success', false],
        ['plain', 'success', false],
      ]);
      await expect.poll(jobsLeft).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it('goes through the queue when the next task is in a queue the worker does not serve', async () => {
    const cpu = await platform.startWorker(2);
    const gpu = await platform.startWorker(2, { queues: ['gpu'] });
    try {
      const runId = await platform.trigger('queue_hop');
      expect(await platform.waitForRun(runId)).toBe('success');
      const rows = await tries(runId);
      expect(rows.map((r) => [r.task_id, r.worker_id, r.job_id === null])).toEqual([
        ['cpu', cpu.id, false],
        ['gpu', gpu.id, false],
        ['cpu_again', cpu.id, false],
      ]);
      // The last job is completed after its try is recorded (the run's end).
      await expect.poll(jobsLeft).toBe(0);
    } finally {
      await Promise.all([cpu.stop(), gpu.stop()]);
    }
  });

  it('recovers a continued try whose worker died: it fails as WorkerLost, is retried elsewhere, and the run ends', async () => {
    const doomed = await platform.startWorker(1, { lostWorkerTimeoutMs: 1_000 });
    const runId = await platform.trigger('stalled_chain');
    // `hold` was continued into from `first`, with no job of its own.
    await expect.poll(async () => (await tries(runId)).map((r) => [r.task_id, r.job_id === null]), { timeout: 15_000 }).toEqual([
      ['first', false],
      ['hold', true],
    ]);
    await doomed.stop({ force: true });
    const rescuer = await platform.startWorker(1, { lostWorkerTimeoutMs: 1_000 });
    try {
      // Recovery (the rescuer's heartbeat loop) ends the lost try; its retry waits for its delay.
      await expect.poll(async () => (await tries(runId)).find((r) => r.task_id === 'hold')?.state, { timeout: 20_000 }).toBe('failed');
      const [lost] = (await tries(runId)).filter((r) => r.task_id === 'hold');
      expect(lost!.error!.name).toMatch(/^(WorkerLost|WorkerShutdown)$/);
      expect(lost!.worker_id).toBe(doomed.id);
    } finally {
      await rescuer.stop({ force: true });
    }
  }, 60_000);
});
