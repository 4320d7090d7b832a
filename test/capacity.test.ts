import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
