import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markTaskInstances } from '../server/src/executor/interventions.js';
import { createTestPlatform, dagFolder, graphql, type TestPlatform } from './support/platform.js';

// Capacity controls (executor/capacity.ts): pools hold across workers, queues route jobs to
// the workers that serve them, and priority weights order what starts when slots are short.
// Overlaps are read from the stored tries' start and end times, never from timing luck.

const DAGS = {
  'capacity.ts': `import { dag, task } from '@updraft/sdk';
const nap = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pooled = task({ id: 'pooled', pool: 'two', isolation: 'none' }, async (i: number) => { await nap(150); return i; });
export const pools = dag({ id: 'pools' }, () => {
  for (let i = 0; i < 12; i++) pooled(i);
});

const plain = task({ id: 'plain', isolation: 'none' }, () => 'cpu');
const gpu = task({ id: 'gpu', queue: 'gpu', isolation: 'none' }, (x: string) => x + '+gpu');
export const queues = dag({ id: 'queues' }, () => { gpu(plain()); });

const weighed = [1, 5, 3, 10, 2].map((w) =>
  task({ id: 'w' + w, pool: 'closed', priorityWeight: w, weightRule: 'absolute', isolation: 'none' }, async () => { await nap(20); return w; }),
);
export const priorities = dag({ id: 'priorities' }, () => {
  for (const t of weighed) t();
});

const busy = task({ id: 'busy', isolation: 'none' }, async () => { await nap(100); });
export const limited = dag({ id: 'limited', maxActiveTasks: 2 }, () => {
  for (let i = 0; i < 6; i++) busy();
});

let tries = 0;
const flaky = task({ id: 'flaky', pool: 'one', retries: 1, retryDelay: 0, isolation: 'none' }, () => {
  if (tries++ === 0) throw new Error('first try fails');
  return 'ok';
});
export const retried = dag({ id: 'retried' }, () => { flaky(); });

const item = task({ id: 'item', pool: 'two', isolation: 'none' }, async (n: number) => { await nap(60); return n * 2; });
export const mapped = dag({ id: 'mapped' }, () => { item.map([1, 2, 3, 4, 5, 6, 7, 8]); });
const capped = task({ id: 'capped', pool: 'one', maxActiveTisPerTask: 3, isolation: 'none' }, async (n: number) => { await nap(30); return n; });
export const mappedCapped = dag({ id: 'mapped_capped' }, () => { capped.map([1, 2, 3, 4, 5, 6]); });

const sleepy = task({ id: 'sleepy', pool: 'one', isolation: 'process' }, async () => { await nap(60_000); });
const next = task({ id: 'next', pool: 'one', isolation: 'none', priorityWeight: 0, weightRule: 'absolute' }, () => 'ran');
export const marked = dag({ id: 'marked' }, () => { sleepy(); next(); });
`,
};

/** Most tries of `runIds` (optionally of one task prefix) running at the same instant, from their stored times. */
async function mostAtOnce(platform: TestPlatform, runIds: number[], taskPrefix = ''): Promise<number> {
  const { rows } = await platform.pool.query<{ most: number }>(
    `WITH t AS (
       SELECT tt.started_at, tt.ended_at FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id
       WHERE ti.dag_run_id = ANY($1) AND ti.task_id LIKE $2 || '%'
     )
     SELECT max((SELECT count(*) FROM t o WHERE o.started_at <= t.started_at AND o.ended_at > t.started_at))::int AS most FROM t`,
    [runIds, taskPrefix],
  );
  return rows[0]!.most;
}

describe('capacity controls', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const result = await platform.deploy(await dagFolder(DAGS));
    expect(result.importErrors).toEqual([]);
    await platform.pool.query(`INSERT INTO pool (name, slots) VALUES ('two', 2), ('closed', 0), ('one', 1)`);
  });
  afterAll(() => platform.close());

  it('runs at most 2 tasks of a 2-slot pool at once across 3 workers', async () => {
    const workers = [];
    for (let i = 0; i < 3; i++) workers.push(await platform.startWorker(4));
    const runIds = [await platform.trigger('pools'), await platform.trigger('pools')];
    for (const id of runIds) expect(await platform.waitForRun(id, 60_000)).toBe('success');
    expect(await mostAtOnce(platform, runIds)).toBe(2);
    const { rows } = await platform.pool.query<{ workers: number; tries: number }>(
      `SELECT count(DISTINCT tt.worker_id)::int AS workers, count(*)::int AS tries FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id WHERE ti.dag_run_id = ANY($1)`,
      [runIds],
    );
    expect(rows[0]).toEqual({ workers: 3, tries: 24 });
    // Nothing holds a slot once the runs ended.
    const held = await platform.pool.query(`SELECT count(*)::int AS n FROM task_instance WHERE gated AND state IN ('queued', 'running')`);
    expect(held.rows[0].n).toBe(0);
    for (const w of workers) await w.stop();
  });

  it('routes a task only to workers serving its queue; until one does, it waits queued, saying so', async () => {
    const cpu = await platform.startWorker(2); // serves `default` only
    const runId = await platform.trigger('queues');
    const gpuInstance = async () => {
      const data = await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: { taskId: string; state: string; queue: string; waitingFor: string | null } }> } } }>(
        platform,
        `query ($id: ID!) { dagRun(id: $id) { taskInstances(first: 10) { edges { node { taskId state queue waitingFor } } } } }`,
        { id: String(runId) },
      );
      return data.dagRun.taskInstances.edges.map((e) => e.node).find((ti) => ti.taskId === 'gpu')!;
    };
    const deadline = Date.now() + 20_000;
    while ((await gpuInstance()).state !== 'queued' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // time enough for a wrong worker to take it
    expect(await gpuInstance()).toEqual({
      taskId: 'gpu',
      state: 'queued',
      queue: 'gpu',
      waitingFor: 'waiting for a worker serving queue "gpu": no live worker does (start one: `updraft worker --queues gpu`)',
    });
    const gpu = await platform.startWorker(1, { queues: ['gpu'] });
    expect(await platform.waitForRun(runId)).toBe('success');
    const { rows } = await platform.pool.query<{ task_id: string; worker_id: string }>(
      `SELECT ti.task_id, tt.worker_id FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id WHERE ti.dag_run_id = $1 ORDER BY ti.task_id`,
      [runId],
    );
    expect(rows).toEqual([
      { task_id: 'gpu', worker_id: gpu.id },
      { task_id: 'plain', worker_id: cpu.id },
    ]);
    expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 'gpu')!.returnValue).toBe('cpu+gpu');
    const workers = await graphql<{ workers: { edges: Array<{ node: { id: string; queues: string[] } }> } }>(platform, `{ workers(first: 10) { edges { node { id queues } } } }`);
    expect(workers.workers.edges.find((e) => e.node.id === gpu.id)!.node.queues).toEqual(['gpu']);
    await gpu.stop();
    await cpu.stop();
  });

  it('starts the highest priority weight first when slots are short, and says what a task waits for', async () => {
    const worker = await platform.startWorker(4);
    const runId = await platform.trigger('priorities');
    // The pool has 0 slots: every task waits `scheduled`, saying for what.
    const waiting = await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: { taskId: string; state: string; priorityWeight: number; pool: string; waitingFor: string | null } }> } } }>(
      platform,
      `query ($id: ID!) { dagRun(id: $id) { taskInstances(first: 10) { edges { node { taskId state priorityWeight pool waitingFor } } } } }`,
      { id: String(runId) },
    );
    expect(waiting.dagRun.taskInstances.edges.map((e) => e.node).sort((a, b) => a.priorityWeight - b.priorityWeight)).toEqual(
      [1, 2, 3, 5, 10].map((w) => ({ taskId: `w${w}`, state: 'scheduled', priorityWeight: w, pool: 'closed', waitingFor: 'waiting for a free slot in pool "closed" (0 of its 0 in use)' })),
    );
    // One slot: they run one at a time, by weight.
    const set = await graphql<{ setPool: { pool: { name: string; slots: number } } }>(platform, `mutation { setPool(input: { name: "closed", slots: 1 }) { pool { name slots } } }`);
    expect(set.setPool.pool).toEqual({ name: 'closed', slots: 1 });
    expect(await platform.waitForRun(runId)).toBe('success');
    const { rows } = await platform.pool.query<{ task_id: string }>(
      `SELECT ti.task_id FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id WHERE ti.dag_run_id = $1 ORDER BY tt.started_at`,
      [runId],
    );
    expect(rows.map((r) => r.task_id)).toEqual(['w10', 'w5', 'w3', 'w2', 'w1']);
    expect(await mostAtOnce(platform, [runId])).toBe(1);
    await worker.stop();
  });

  it('holds a DAG to maxActiveTasks across its runs', async () => {
    const worker = await platform.startWorker(8);
    const runIds = [await platform.trigger('limited'), await platform.trigger('limited')];
    for (const id of runIds) expect(await platform.waitForRun(id, 30_000)).toBe('success');
    expect(await mostAtOnce(platform, runIds)).toBe(2);
    await worker.stop();
  });

  it('gives a retried task its pool slot again', async () => {
    const worker = await platform.startWorker(2);
    const runId = await platform.trigger('retried');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect((await platform.taskInstances(runId))[0]).toMatchObject({ state: 'success', tryNumber: 2 });
    await worker.stop();
  });

  it('runs the instances of a mapped task within its pool', async () => {
    const worker = await platform.startWorker(8);
    const runId = await platform.trigger('mapped');
    expect(await platform.waitForRun(runId)).toBe('success');
    const instances = await platform.taskInstances(runId);
    expect(instances.sort((a, b) => a.mapIndex - b.mapIndex).map((ti) => ti.returnValue)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(await mostAtOnce(platform, [runId])).toBe(2);
    // With maxActiveTisPerTask too, both hold: one at a time in the 1-slot pool, all of them run.
    const cappedRun = await platform.trigger('mapped_capped');
    expect(await platform.waitForRun(cappedRun)).toBe('success');
    expect((await platform.taskInstances(cappedRun)).filter((ti) => ti.state === 'success')).toHaveLength(6);
    expect(await mostAtOnce(platform, [cappedRun])).toBe(1);
    await worker.stop();
  });

  it('gives the slot of an instance marked by hand to the next waiting one', async () => {
    const worker = await platform.startWorker(4);
    const runId = await platform.trigger('marked');
    const state = async (taskId: string) => (await platform.taskInstances(runId)).find((ti) => ti.taskId === taskId)!.state;
    const deadline = Date.now() + 20_000;
    while ((await state('sleepy')) !== 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await state('next')).toBe('scheduled');
    await markTaskInstances(platform.pool, { dagRunId: runId, taskIds: ['sleepy'], state: 'success' });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 'next')!.returnValue).toBe('ran');
    await worker.stop();
  });

  it('lists, sets and deletes pools through the API; default_pool stays, unlimited', async () => {
    const list = await graphql<{ pools: { edges: Array<{ node: { name: string; slots: number | null; usage: { occupiedSlots: number; openSlots: number | null } } }> } }>(
      platform,
      `{ pools(first: 10) { edges { node { name slots usage { occupiedSlots openSlots } } } } }`,
    );
    expect(list.pools.edges.map((e) => e.node)).toEqual([
      { name: 'closed', slots: 1, usage: { occupiedSlots: 0, openSlots: 1 } },
      { name: 'default_pool', slots: null, usage: { occupiedSlots: 0, openSlots: null } },
      { name: 'one', slots: 1, usage: { occupiedSlots: 0, openSlots: 1 } },
      { name: 'two', slots: 2, usage: { occupiedSlots: 0, openSlots: 2 } },
    ]);
    await expect(graphql(platform, `mutation { deletePool(input: { name: "default_pool" }) { name } }`)).rejects.toThrow(/default_pool cannot be deleted/);
    await expect(graphql(platform, `mutation { setPool(input: { name: "bad name", slots: 1 }) { pool { name } } }`)).rejects.toThrow(/bad name.{0,10} is not a pool name.*BAD_USER_INPUT/);
    await expect(graphql(platform, `mutation { setPool(input: { name: "neg", slots: -1 }) { pool { name } } }`)).rejects.toThrow(/slots must be a whole number from 0/);
    await expect(graphql(platform, `mutation { deletePool(input: { name: "nope" }) { name } }`)).rejects.toThrow(/Pool .{0,4}nope.{0,4} does not exist.*NOT_FOUND/);
    await graphql(platform, `mutation { deletePool(input: { name: "closed" }) { name } }`);
    expect(await platform.db.prisma.pool.findUnique({ where: { name: 'closed' } })).toBeNull();
  });
});
