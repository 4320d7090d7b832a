// Scheduling: timetables across DST changes, data intervals, catchup, maxActiveRuns,
// pause/unpause, several schedulers at once, backfills. The scheduler reads a clock the
// tests move by hand (`now`) and runs passes only when told (`loop: false`): no test waits
// for a schedule, but for the one that shows a real scheduler waking on time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelBackfill, createBackfill } from '../server/src/backfill.js';
import { intervalsBetween, manualInterval, nextInterval, scheduleProblem, timetableOf } from '../server/src/dags/timetable.js';
import { timezoneProblem } from '../server/src/dags/timezone.js';
import { markDagRun } from '../server/src/executor/interventions.js';
import { LiveUpdates } from '../server/src/live/live-updates.js';
import { triggerDagRun } from '../server/src/runs.js';
import { startScheduler, type Scheduler } from '../server/src/scheduler.js';
import { createTestPlatform, dagFolder, graphql, type TestPlatform } from './support/platform.js';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const d = (text: string) => new Date(text);

/** The logical dates of the intervals of `schedule` starting in [from, to]. */
function starts(schedule: string, timezone: string, from: string, to: string): string[] {
  return intervalsBetween(timetableOf(schedule, timezone)!, d(from), d(to), 1000).map((i) => iso(i.start));
}

describe('timetables', () => {
  it('reads @daily in Europe/Berlin as local midnights: 23 h on 2026-03-29, 25 h on 2026-10-25', () => {
    const tt = timetableOf('@daily', 'Europe/Berlin')!;
    const spring = intervalsBetween(tt, d('2026-03-28T00:00Z'), d('2026-03-30T00:00Z'), 10);
    expect(spring.map((i) => [iso(i.start), iso(i.end)])).toEqual([
      ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'],
      ['2026-03-29T22:00:00Z', '2026-03-30T22:00:00Z'],
    ]);
    const autumn = intervalsBetween(tt, d('2026-10-24T00:00Z'), d('2026-10-25T12:00Z'), 10);
    expect(autumn.map((i) => [iso(i.start), iso(i.end)])).toEqual([
      ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'],
    ]);
  });

  it('runs a daily 02:30 (Berlin) once on each DST day: an hour later by the new clock in March, at the second 02:30 in October', () => {
    expect(starts('30 2 * * *', 'Europe/Berlin', '2026-03-27T00:00Z', '2026-03-31T00:00Z')).toEqual([
      '2026-03-27T01:30:00Z',
      '2026-03-28T01:30:00Z',
      '2026-03-29T01:30:00Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30:00Z',
    ]);
    expect(starts('30 2 * * *', 'Europe/Berlin', '2026-10-23T00:00Z', '2026-10-27T00:00Z')).toEqual([
      '2026-10-23T00:30:00Z',
      '2026-10-24T00:30:00Z',
      '2026-10-25T01:30:00Z', // 02:30 exists twice: the second (CET), once
      '2026-10-26T01:30:00Z',
    ]);
    // Backwards too: the interval before each DST day's run is the day before's.
    const tt = timetableOf('30 2 * * *', 'Europe/Berlin')!;
    expect(iso(tt.prev(d('2026-03-30T00:30Z')))).toBe('2026-03-29T01:30:00Z');
    expect(iso(tt.prev(d('2026-10-26T01:30Z')))).toBe('2026-10-25T01:30:00Z');
    expect(iso(tt.prev(d('2026-10-25T01:30Z')))).toBe('2026-10-24T00:30:00Z');
  });

  it('runs an hourly schedule every hour in absolute time: 23 runs on 2026-03-29 and 25 on 2026-10-25 (Berlin days)', () => {
    expect(starts('@hourly', 'Europe/Berlin', '2026-03-28T23:00Z', '2026-03-29T21:59Z')).toHaveLength(23);
    const autumn = starts('0 * * * *', 'Europe/Berlin', '2026-10-24T22:00Z', '2026-10-25T22:59Z');
    expect(autumn).toHaveLength(25);
    expect(autumn.slice(1, 4)).toEqual(['2026-10-24T23:00:00Z', '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z']);
  });

  it('supports presets, 6-field cron with seconds, and fixed intervals anchored at startDate or the epoch', () => {
    expect(starts('@weekly', 'UTC', '2026-01-01T00:00Z', '2026-01-20T00:00Z')).toEqual(['2026-01-04T00:00:00Z', '2026-01-11T00:00:00Z', '2026-01-18T00:00:00Z']);
    expect(starts('@monthly', 'Europe/Berlin', '2026-03-01T00:00Z', '2026-05-01T00:00Z')).toEqual(['2026-03-31T22:00:00Z', '2026-04-30T22:00:00Z']);
    expect(starts('*/20 * * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:00:59Z')).toEqual(['2026-01-01T00:00:00Z', '2026-01-01T00:00:20Z', '2026-01-01T00:00:40Z']);
    expect(starts('15m', 'Europe/Berlin', '2026-03-29T00:50Z', '2026-03-29T01:30Z')).toEqual(['2026-03-29T01:00:00Z', '2026-03-29T01:15:00Z', '2026-03-29T01:30:00Z']);
    const anchored = timetableOf('1h', 'UTC', d('2026-01-01T00:20Z'))!;
    expect(iso(anchored.alignNext(d('2026-01-01T05:00Z')))).toBe('2026-01-01T05:20:00Z');
  });

  it('computes the next interval with and without catchup, within startDate and endDate', () => {
    const tt = timetableOf('@daily', 'UTC')!;
    const now = d('2026-01-10T12:00Z');
    const bounds = { startDate: d('2026-01-01T00:00Z'), endDate: null, catchup: true };
    expect(nextInterval(tt, null, bounds, now)).toEqual({ start: d('2026-01-01T00:00Z'), end: d('2026-01-02T00:00Z') });
    expect(nextInterval(tt, { start: d('2026-01-03T00:00Z'), end: d('2026-01-04T00:00Z') }, bounds, now)!.start).toEqual(d('2026-01-04T00:00Z'));
    // Without catchup: the latest interval that has ended, whatever the last run.
    expect(nextInterval(tt, { start: d('2026-01-03T00:00Z'), end: d('2026-01-04T00:00Z') }, { ...bounds, catchup: false }, now)!.start).toEqual(d('2026-01-09T00:00Z'));
    expect(nextInterval(tt, null, { startDate: null, endDate: null, catchup: false }, now)!.start).toEqual(d('2026-01-09T00:00Z'));
    expect(nextInterval(tt, { start: d('2026-01-05T00:00Z'), end: d('2026-01-06T00:00Z') }, { ...bounds, endDate: d('2026-01-05T12:00Z') }, now)).toBeNull();
  });

  it('gives manual runs Airflow’s inferred interval', () => {
    const at = d('2026-03-29T10:00Z');
    expect(manualInterval(timetableOf('@daily', 'Europe/Berlin'), at)).toEqual({ start: d('2026-03-27T23:00Z'), end: d('2026-03-28T23:00Z') });
    expect(manualInterval(timetableOf('1h', 'UTC'), at)).toEqual({ start: d('2026-03-29T09:00Z'), end: at });
    expect(manualInterval(null, at)).toEqual({ start: at, end: at });
  });

  it('names what is wrong with a schedule or a timezone', () => {
    expect(scheduleProblem('@daily')).toBeNull();
    expect(scheduleProblem('0 6 * * 1-5')).toBeNull();
    expect(scheduleProblem('@fortnightly')).toMatch(/not a preset/);
    expect(scheduleProblem('61 * * * *')).toMatch(/not a cron expression/);
    expect(scheduleProblem('* * *')).toMatch(/is not a cron expression: it has 3 fields/);
    expect(scheduleProblem('0.5s')).toMatch(/shorter than the shortest interval/);
    expect(scheduleProblem('15x')).toMatch(/not a fixed interval/);
    expect(scheduleProblem('x'.repeat(100_000))).toMatch(/longer than 200/);
    expect(timezoneProblem('Europe/Berlin')).toBeNull();
    expect(timezoneProblem('Mars/Olympus')).toMatch(/not a timezone this platform knows/);
    expect(timezoneProblem('+01:00')).toMatch(/not an IANA timezone name/);
  });
});

/** A DAG file with one quick task. */
const dagFile = (id: string, options: string) =>
  `import { context, dag, task } from '@updraft/sdk';\nexport default dag({ id: '${id}', ${options} }, () => { task('work', () => { const c = context(); return [c.dataIntervalStart.toISOString(), c.dataIntervalEnd.toISOString()]; })(); });`;

describe('scheduler (clock moved by hand)', () => {
  let platform: TestPlatform;
  let clock: Date;
  const schedulers: Scheduler[] = [];
  const scheduler = () => {
    const s = startScheduler({ pool: platform.pool, now: () => clock, loop: false });
    schedulers.push(s);
    return s;
  };
  const runsOf = (dagId: string) =>
    platform.db.prisma.dagRun.findMany({ where: { dagId }, orderBy: { logicalDate: 'asc' }, select: { id: true, runType: true, state: true, logicalDate: true, dataIntervalStart: true, dataIntervalEnd: true } });
  const intervalsOf = async (dagId: string) => (await runsOf(dagId)).map((r) => [iso(r.dataIntervalStart!), iso(r.dataIntervalEnd!)]);

  beforeAll(async () => {
    platform = await createTestPlatform();
    const dir = await dagFolder({
      'berlin_catchup.ts': dagFile('berlin_catchup', `schedule: '30 2 * * *', timezone: 'Europe/Berlin', catchup: true, startDate: '2026-03-27T00:00:00Z', maxActiveRuns: 100`),
      'berlin_latest.ts': dagFile('berlin_latest', `schedule: '@daily', timezone: 'Europe/Berlin', startDate: new Date('2026-10-01T00:00:00Z')`),
      'limited.ts': dagFile('limited', `schedule: '1h', catchup: true, startDate: '2026-01-01T00:00:00Z', maxActiveRuns: 2`),
      'every_second.ts': dagFile('every_second', `schedule: '* * * * * *', catchup: true, startDate: '2026-06-01T00:00:00Z', maxActiveRuns: 1000`),
      'hourly_fall.ts': dagFile('hourly_fall', `schedule: '@hourly', timezone: 'Europe/Berlin', catchup: true, startDate: '2026-10-24T22:00:00Z', endDate: '2026-10-25T22:00:00Z', maxActiveRuns: 1000`),
      'unscheduled.ts': dagFile('unscheduled', `schedule: null`),
    });
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors).toEqual([]);
    // Each test unpauses the DAGs it drives.
    await platform.db.prisma.dag.updateMany({ data: { paused: true } });
  });
  afterAll(async () => {
    for (const s of schedulers) await s.stop();
    await platform.close();
  });

  it('with catchup, creates every interval since startDate across the March DST change, each once', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'berlin_catchup' }, data: { paused: false } });
    const s = scheduler();
    clock = d('2026-03-31T00:00:00Z');
    await s.pass();
    await s.pass(); // nothing more is due
    expect(await intervalsOf('berlin_catchup')).toEqual([
      ['2026-03-27T01:30:00Z', '2026-03-28T01:30:00Z'],
      ['2026-03-28T01:30:00Z', '2026-03-29T01:30:00Z'],
      ['2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z'],
    ]);
    const runs = await runsOf('berlin_catchup');
    expect(runs.every((r) => r.runType === 'scheduled' && r.logicalDate.getTime() === r.dataIntervalStart!.getTime())).toBe(true);
    const dag = await graphql<{ dag: { timezone: string; nextRunAt: string; nextDataInterval: { start: string; end: string } } }>(
      platform,
      `{ dag(id: "berlin_catchup") { timezone nextRunAt nextDataInterval { start end } } }`,
    );
    expect(dag.dag).toEqual({ timezone: 'Europe/Berlin', nextRunAt: '2026-03-31T00:30:00.000Z', nextDataInterval: { start: '2026-03-30T00:30:00.000Z', end: '2026-03-31T00:30:00.000Z' } });
    // Due at 00:30: created on the first pass after it, not before.
    clock = d('2026-03-31T00:29:59.999Z');
    await s.pass();
    expect(await runsOf('berlin_catchup')).toHaveLength(3);
    clock = d('2026-03-31T00:30:00Z');
    await s.pass();
    expect((await intervalsOf('berlin_catchup')).at(-1)).toEqual(['2026-03-30T00:30:00Z', '2026-03-31T00:30:00Z']);
    await platform.db.prisma.dag.update({ where: { id: 'berlin_catchup' }, data: { paused: true } });
  });

  it('hourly in Berlin across the October change: 24 intervals of one hour for 24 hours, the repeated hour twice', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'hourly_fall' }, data: { paused: false } });
    clock = d('2026-10-26T12:00:00Z');
    await scheduler().pass();
    const intervals = await intervalsOf('hourly_fall');
    expect(intervals).toHaveLength(25); // 22:00Z … 22:00Z, endDate included
    expect(intervals.every(([start, end]) => d(end!).getTime() - d(start!).getTime() === 3_600_000)).toBe(true);
    expect((await platform.db.prisma.dag.findUniqueOrThrow({ where: { id: 'hourly_fall' } })).nextDagrunCreateAfter).toBeNull(); // past endDate
  });

  it('without catchup, creates only the latest interval, and unpausing after a week does not flood', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'berlin_latest' }, data: { paused: false } });
    const s = scheduler();
    clock = d('2026-10-26T08:00:00Z');
    await s.pass();
    expect(await intervalsOf('berlin_latest')).toEqual([['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z']]); // the 25-hour day
    clock = d('2026-10-27T08:00:00Z');
    await s.pass();
    expect(await runsOf('berlin_latest')).toHaveLength(2);
    await platform.db.prisma.dag.update({ where: { id: 'berlin_latest' }, data: { paused: true } });
    clock = d('2026-11-03T08:00:00Z');
    await s.pass();
    expect(await runsOf('berlin_latest')).toHaveLength(2); // paused: nothing
    await platform.db.prisma.dag.update({ where: { id: 'berlin_latest' }, data: { paused: false } });
    await s.pass();
    await s.pass();
    expect((await intervalsOf('berlin_latest')).slice(2)).toEqual([['2026-11-01T23:00:00Z', '2026-11-02T23:00:00Z']]);
  });

  it('keeps runs beyond maxActiveRuns queued, and starts the oldest when a slot frees', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'limited' }, data: { paused: false } });
    const s = scheduler();
    clock = d('2026-01-01T05:00:00Z');
    await s.pass();
    let runs = await runsOf('limited');
    expect(runs.map((r) => r.state)).toEqual(['running', 'running', 'queued', 'queued', 'queued']);
    // A manual run waits its turn too.
    const manual = await triggerDagRun(platform.pool, { dagId: 'limited', logicalDate: d('2026-01-01T04:30:00Z') });
    expect((await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: manual } })).state).toBe('queued');
    await markDagRun(platform.pool, runs[0]!.id, 'success');
    await s.pass();
    runs = await runsOf('limited');
    expect(runs.map((r) => r.state)).toEqual(['success', 'running', 'running', 'queued', 'queued', 'queued']);
    expect(runs[2]!.logicalDate).toEqual(d('2026-01-01T02:00:00Z'));
    // Paused, queued runs wait.
    await platform.db.prisma.dag.update({ where: { id: 'limited' }, data: { paused: true } });
    await markDagRun(platform.pool, runs[1]!.id, 'success');
    await s.pass();
    expect((await runsOf('limited')).filter((r) => r.state === 'running')).toHaveLength(1);
  });

  it('three schedulers at once create each logical date of an every-second schedule exactly once', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'every_second' }, data: { paused: false } });
    const three = [scheduler(), scheduler(), scheduler()];
    for (let step = 1; step <= 30; step++) {
      clock = new Date(d('2026-06-01T00:00:00Z').getTime() + step * 1000);
      await Promise.all(three.map((s) => s.pass()));
    }
    const runs = await runsOf('every_second');
    expect(runs.map((r) => r.logicalDate.getTime() - d('2026-06-01T00:00:00Z').getTime())).toEqual(Array.from({ length: 30 }, (_, i) => i * 1000));
  });

  it('gives manual runs an interval and the logical date asked for, and refuses a taken one', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'berlin_latest' }, data: { paused: false } });
    const id = await triggerDagRun(platform.pool, { dagId: 'berlin_latest', logicalDate: d('2026-03-29T10:00:00Z') });
    const run = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id } });
    expect([run.runType, iso(run.logicalDate), iso(run.dataIntervalStart!), iso(run.dataIntervalEnd!)]).toEqual(['manual', '2026-03-29T10:00:00Z', '2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z']);
    await expect(triggerDagRun(platform.pool, { dagId: 'berlin_latest', logicalDate: d('2026-03-29T10:00:00Z') })).rejects.toThrow(/already has a run at logical date 2026-03-29T10:00:00.000Z/);
  });

  it('gives every manual trigger a run, however many arrive at once (no logical date collision)', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'unscheduled' }, data: { paused: false, maxActiveRuns: 1000 } });
    const ids = await Promise.all(Array.from({ length: 40 }, () => triggerDagRun(platform.pool, { dagId: 'unscheduled' })));
    expect(new Set(ids).size).toBe(40);
    const runs = await runsOf('unscheduled');
    expect(new Set(runs.map((r) => r.logicalDate.getTime())).size).toBe(runs.length);
    // Without a schedule, a manual run's interval is its instant.
    expect(runs.every((r) => r.dataIntervalStart!.getTime() === r.logicalDate.getTime() && r.dataIntervalEnd!.getTime() === r.logicalDate.getTime())).toBe(true);
  });
});

describe('deploy checks', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform.close());

  it('refuses invalid schedules, timezones and dates, naming the field and the reason', async () => {
    const dir = await dagFolder({
      'bad_tz.ts': dagFile('bad_tz', `schedule: '@daily', timezone: 'Europe/Atlantis'`),
      'bad_cron.ts': dagFile('bad_cron', `schedule: '0 25 * * *'`),
      'bad_dates.ts': dagFile('bad_dates', `schedule: '@daily', startDate: '2026-02-01T00:00:00Z', endDate: '2026-01-01T00:00:00Z'`),
      'bad_start.ts': dagFile('bad_start', `schedule: '@daily', startDate: 'yesterday'`),
      'bad_limit.ts': dagFile('bad_limit', `schedule: '@daily', maxActiveRuns: 0`),
    });
    const { importErrors, dags } = await platform.deploy(dir);
    expect(dags).toEqual([]);
    const message = (file: string) => importErrors.find((e) => e.fileName === file)?.message;
    expect(message('bad_tz.ts')).toMatch(/DAG "bad_tz": timezone: "Europe\/Atlantis" is not a timezone/);
    expect(message('bad_cron.ts')).toMatch(/DAG "bad_cron": schedule: "0 25 \* \* \*" is not a cron expression/);
    expect(message('bad_dates.ts')).toMatch(/DAG "bad_dates": endDate: .* is before startDate/);
    expect(message('bad_start.ts')).toMatch(/DAG "bad_start": startDate: "yesterday" is not a date/);
    expect(message('bad_limit.ts')).toMatch(/DAG "bad_limit": maxActiveRuns: must be 1 or more/);
  });
});

describe('backfill', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const dir = await dagFolder({
      'daily_etl.ts': dagFile('daily_etl', `schedule: '@daily', timezone: 'Europe/Berlin'`),
      'daily_utc.ts': dagFile('daily_utc', `schedule: '@daily'`),
    });
    expect((await platform.deploy(dir)).importErrors).toEqual([]);
  });
  afterAll(() => platform.close());

  it('backfills 30 daily intervals as 30 backfill runs, never more than maxActiveRuns at once', async () => {
    const { backfillId, runsCreated } = await createBackfill(platform.pool, { dagId: 'daily_utc', from: d('2026-01-01T00:00Z'), to: d('2026-01-30T00:00Z'), maxActiveRuns: 3 });
    expect(runsCreated).toBe(30);
    const runs = await platform.db.prisma.dagRun.findMany({ where: { backfillId }, orderBy: { logicalDate: 'asc' } });
    expect(runs.map((r) => [iso(r.dataIntervalStart!), iso(r.dataIntervalEnd!)])).toEqual(
      Array.from({ length: 30 }, (_, i) => [iso(new Date(Date.UTC(2026, 0, 1 + i))), iso(new Date(Date.UTC(2026, 0, 2 + i)))]),
    );
    expect(runs.every((r) => r.runType === 'backfill')).toBe(true);
    expect(runs.filter((r) => r.state === 'running')).toHaveLength(3);

    await platform.startWorker(8);
    let most = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const counts = await platform.db.prisma.dagRun.groupBy({ by: ['state'], where: { backfillId }, _count: { _all: true } });
      const count = (state: string) => counts.find((c) => c.state === state)?._count._all ?? 0;
      most = Math.max(most, count('running'));
      if (count('success') === 30) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(0);
    const progress = await graphql<{ backfill: { runsCreated: number; runsDone: number; done: boolean } }>(platform, `{ backfill(id: "${backfillId}") { runsCreated runsDone done } }`);
    expect(progress.backfill).toEqual({ runsCreated: 30, runsDone: 30, done: true });
    // The tasks saw their runs' intervals.
    const [first] = await platform.taskInstances(runs[0]!.id);
    expect(first!.returnValue).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z']);
  });

  it('runs the issue’s operations as written, reprocessing ALL, and lists the runs with their intervals', async () => {
    const mutation = `mutation { backfill(input: { dagId: "daily_etl", from: "2026-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z", reprocess: ALL, maxActiveRuns: 2 }) { runsCreated } }`;
    expect(await graphql(platform, mutation)).toEqual({ backfill: { runsCreated: 2 } }); // Berlin midnights 2026-01-01T23:00Z and 2026-01-02T23:00Z
    const query = `query { dag(id: "daily_etl") { id schedule timezone nextRunAt runs(first: 50) { edges { node { id runType logicalDate dataIntervalStart dataIntervalEnd state } } } } }`;
    const wait = async () => {
      for (let i = 0; i < 500; i++) {
        const data = await graphql<{ dag: { runs: { edges: Array<{ node: { state: string } }> } } }>(platform, query);
        if (data.dag.runs.edges.every((e) => e.node.state === 'success')) return data;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('backfill runs did not end');
    };
    const data = (await wait()) as unknown as { dag: { id: string; schedule: string; timezone: string; runs: { edges: Array<{ node: Record<string, unknown> }> } } };
    expect(data.dag).toMatchObject({ id: 'daily_etl', schedule: '@daily', timezone: 'Europe/Berlin' });
    expect(data.dag.runs.edges.map((e) => [e.node.runType, e.node.logicalDate, e.node.dataIntervalStart, e.node.dataIntervalEnd])).toEqual([
      ['backfill', '2026-01-02T23:00:00.000Z', '2026-01-02T23:00:00.000Z', '2026-01-03T23:00:00.000Z'],
      ['backfill', '2026-01-01T23:00:00.000Z', '2026-01-01T23:00:00.000Z', '2026-01-02T23:00:00.000Z'],
    ]);
    // Again: the ended runs run again (ALL), NONE leaves them alone.
    expect(await graphql(platform, mutation)).toEqual({ backfill: { runsCreated: 2 } });
    await wait();
    expect(await graphql(platform, mutation.replace('ALL', 'NONE'))).toEqual({ backfill: { runsCreated: 0 } });
    const tries = await platform.db.prisma.taskTry.count({ where: { taskInstance: { dagRun: { dagId: 'daily_etl' } } } });
    expect(tries).toBe(4); // two runs, each tried twice; tries are kept
  });

  it('cancels a backfill: its queued runs fail and no more start', async () => {
    const { backfillId } = await createBackfill(platform.pool, { dagId: 'daily_utc', from: d('2025-01-01T00:00Z'), to: d('2025-01-10T00:00Z'), maxActiveRuns: 1 });
    const { cancelledRuns } = await cancelBackfill(platform.pool, backfillId);
    expect(cancelledRuns).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < 500; i++) {
      if ((await platform.db.prisma.dagRun.count({ where: { backfillId, state: { in: ['queued', 'running'] } } })) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await platform.db.prisma.dagRun.count({ where: { backfillId, state: 'success' } })).toBeLessThanOrEqual(2);
    expect(await platform.db.prisma.dagRun.count({ where: { backfillId, state: 'failed' } })).toBeGreaterThanOrEqual(8);
  });

  it('refuses bad ranges, with a bounded cost for a huge one', async () => {
    await expect(createBackfill(platform.pool, { dagId: 'daily_utc', from: d('2026-02-01T00:00Z'), to: d('2026-01-01T00:00Z') })).rejects.toThrow(/is before from/);
    const started = Date.now();
    await expect(createBackfill(platform.pool, { dagId: 'daily_utc', from: d('1900-01-01T00:00Z'), to: d('2200-01-01T00:00Z') })).rejects.toThrow(/more than 10,000 intervals/);
    expect(Date.now() - started).toBeLessThan(15_000); // the ticks are counted up to the limit, no further
    await expect(createBackfill(platform.pool, { dagId: 'daily_utc', from: d('2026-01-01T00:00Z'), to: d('2026-01-02T00:00Z'), maxActiveRuns: 0 })).rejects.toThrow(/maxActiveRuns/);
  });
});

describe('scheduler (real time)', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform.close());

  it('wakes on a deploy’s NOTIFY, creates each run within 1 s of its due time, three schedulers at once', async () => {
    const live = new LiveUpdates({ databaseUrl: platform.db.url });
    const schedulers = [startScheduler({ pool: platform.pool, live }), startScheduler({ pool: platform.pool, live }), startScheduler({ pool: platform.pool, live })];
    await new Promise((r) => setTimeout(r, 200)); // listening
    await platform.deploy(await dagFolder({ 'tick.ts': dagFile('tick', `schedule: '* * * * * *', maxActiveRuns: 100`) }));
    const deployedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3_200));
    await Promise.all(schedulers.map((s) => s.stop()));
    await live.close();
    const runs = await platform.db.prisma.dagRun.findMany({ where: { dagId: 'tick' }, orderBy: { logicalDate: 'asc' } });
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(runs.map((r) => r.logicalDate.getTime())).size).toBe(runs.length);
    for (const run of runs) {
      expect(run.dataIntervalEnd!.getTime() - run.dataIntervalStart!.getTime()).toBe(1000);
      const end = run.dataIntervalEnd!.getTime();
      expect(run.queuedAt.getTime()).toBeGreaterThanOrEqual(end);
      // An interval that ended before the DAG existed (catchup off: the latest one) is due at
      // the deploy; it may be created before deploy() returns, hence no lower bound there.
      const lateness = run.queuedAt.getTime() - Math.max(end, deployedAt);
      expect(lateness).toBeLessThan(1000);
    }
    // Consecutive: no interval lost between the first and the last.
    const span = (runs.at(-1)!.logicalDate.getTime() - runs[0]!.logicalDate.getTime()) / 1000 + 1;
    expect(runs).toHaveLength(span);
  });
});
