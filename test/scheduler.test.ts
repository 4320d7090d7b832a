import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestTick, nextTick } from '../server/src/dags/schedule.js';
import { startScheduler } from '../server/src/scheduler.js';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

describe('schedules', () => {
  it('finds the latest and next ticks of cron expressions and presets in UTC', () => {
    const now = new Date('2026-11-27T10:30:00Z');
    expect(latestTick('@daily', now)).toEqual(new Date('2026-11-27T00:00:00Z'));
    expect(nextTick('@daily', now)).toEqual(new Date('2026-11-28T00:00:00Z'));
    expect(latestTick('*/15 * * * *', now)).toEqual(new Date('2026-11-27T10:30:00Z'));
    expect(nextTick('@quarterly', now)).toEqual(new Date('2027-01-01T00:00:00Z'));
  });
});

describe('scheduler', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform.close());

  it('creates one run per tick, even with two schedulers racing, and none for paused DAGs', async () => {
    const dir = await dagFolder({
      'every_second.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'every_second', schedule: '* * * * * *' }, () => { task('tick', () => 'tock')(); });`,
      'paused.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'paused_one', schedule: '* * * * * *' }, () => { task('t', () => 1)(); });`,
    });
    await platform.deploy(dir);
    await platform.db.prisma.dag.update({ where: { id: 'paused_one' }, data: { paused: true } });
    await platform.startWorker();
    const schedulers = [startScheduler({ pool: platform.pool }), startScheduler({ pool: platform.pool })];
    await new Promise((r) => setTimeout(r, 3_500));
    await Promise.all(schedulers.map((s) => s.stop()));

    const runs = await platform.db.prisma.dagRun.findMany({ orderBy: { logicalDate: 'asc' } });
    expect(runs.every((r) => r.dagId === 'every_second' && r.runType === 'scheduled')).toBe(true);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const dates = runs.map((r) => r.logicalDate.getTime());
    expect(new Set(dates).size).toBe(dates.length);
    expect(dates.every((d) => d % 1000 === 0)).toBe(true);
    for (const run of runs) expect(await platform.waitForRun(run.id)).toBe('success');
    expect(runs[0]!.runId).toBe(`scheduled__${runs[0]!.logicalDate.toISOString().replace('Z', '000Z')}`);
  });
});
