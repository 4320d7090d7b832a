import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanDatabase } from '../server/src/retention/engine.js';
import { seedHistory, tableCounts } from './support/history.js';
import { createTestPlatform, type TestPlatform } from './support/platform.js';

describe('retention passes', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform?.close());

  it('deletes runs past their age with everything under them, keeping the newest run of each DAG', async () => {
    const { pool } = platform;
    // A run a day: 89.5 days old to half a day old.
    const a = await seedHistory(pool, { dagId: 'old_a', runs: 90, oldestDays: 89.5, newestDays: 0.5, tasksPerRun: 2, logLinesPerTry: 5 });
    // A DAG whose every run is old: its newest is kept anyway.
    const b = await seedHistory(pool, { dagId: 'old_b', runs: 5, oldestDays: 100, newestDays: 40, tasksPerRun: 1, logLinesPerTry: 0 });
    const before = await tableCounts(pool);
    const dry = await cleanDatabase(pool, { olderThanMs: 30 * 86_400_000, dryRun: true, trigger: 'test' });
    expect(await tableCounts(pool)).toEqual(before);
    // Runs of a older than 30 days: ages 31..90 → 60 runs; b: 4 of 5 (its newest is kept).
    expect(dry.deleted).toMatchObject({ dag_run: 64, task_instance: 60 * 2 + 4, task_try: 124, xcom: 124, task_log: 60 * 2 * 5 });
    expect(dry.passId).toBeNull();

    const real = await cleanDatabase(pool, { olderThanMs: 30 * 86_400_000, trigger: 'test', batchSize: 100 });
    expect(real.deleted).toEqual(dry.deleted);
    const left = await pool.query<{ id: number }>('SELECT id FROM dag_run ORDER BY id');
    expect(left.rows.map((r) => r.id)).toEqual([...a.slice(60), b.at(-1)!]);
    const after = await tableCounts(pool);
    expect(after.task_log).toBe(before.task_log! - 600);
    const pass = await platform.db.prisma.retentionPass.findUniqueOrThrow({ where: { id: real.passId! } });
    expect(pass).toMatchObject({ trigger: 'test', error: null, deleted: real.deleted, batches: real.batches });
    expect(pass.endedAt).not.toBeNull();
  });
});
