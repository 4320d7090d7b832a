import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../server/src/config.js';
import { cleanDatabase } from '../server/src/retention/engine.js';
import { parseAge, parseTables, resolveRetentionPolicy } from '../server/src/retention/policy.js';
import { seedHistory, tableCounts } from './support/history.js';
import { createTestPlatform, dagFolder, graphql, platformRunning, type TestPlatform } from './support/platform.js';
import { clearTaskInstances } from '../server/src/executor/interventions.js';

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

describe('retention policies', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform?.close());

  it('follow a DAG’s own retention.days over the platform’s, and a table’s days over the default', async () => {
    const { pool } = platform;
    const dir = await dagFolder({
      'kept_long.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'kept_long', retention: { days: 60 } }, () => { task('t', () => 1)(); });`,
    });
    expect((await platform.deploy(dir)).importErrors).toEqual([]);
    expect((await platform.db.prisma.dag.findUniqueOrThrow({ where: { id: 'kept_long' } })).retentionDays).toBe(60);
    // Runs 5, 15, ... 95 days old for both DAGs.
    const long = await seedHistory(pool, { dagId: 'kept_long', runs: 10, oldestDays: 95, newestDays: 5, tasksPerRun: 1, logLinesPerTry: 2 });
    const short = await seedHistory(pool, { dagId: 'default_dag', runs: 10, oldestDays: 95, newestDays: 5, tasksPerRun: 1, logLinesPerTry: 2 });
    await pool.query(`INSERT INTO audit_log (at, actor, action, outcome, dag_id) VALUES (now() - interval '45 days', 'local', 'x', 'success', 'kept_long'), (now() - interval '45 days', 'local', 'x', 'success', 'default_dag')`);
    const policy = resolveRetentionPolicy({ defaultDays: 30, days: { task_log: 10 } }, {});
    const result = await cleanDatabase(pool, { policy, trigger: 'test' });
    expect(result.error).toBeNull();
    const runsOf = async (dagId: string) => (await pool.query<{ id: number }>('SELECT id FROM dag_run WHERE dag_id = $1 ORDER BY id', [dagId])).rows.map((r) => r.id);
    // kept_long: 60 days (runs 5..55 days old stay); default_dag: 30 days (5..25 stay).
    expect(await runsOf('kept_long')).toEqual(long.slice(4));
    expect(await runsOf('default_dag')).toEqual(short.slice(7));
    // Logs: 10 days for default_dag (only its 5-day-old run keeps its lines), and kept_long's 60 days win over the table's 10.
    const lines = await pool.query<{ dag_id: string; n: number }>(
      `SELECT r.dag_id, count(*)::int AS n FROM task_log l JOIN task_try t ON t.id = l.task_try_id JOIN task_instance ti ON ti.id = t.task_instance_id
       JOIN dag_run r ON r.id = ti.dag_run_id GROUP BY r.dag_id ORDER BY r.dag_id`,
    );
    expect(lines.rows).toEqual([{ dag_id: 'default_dag', n: 2 }, { dag_id: 'kept_long', n: 12 }]);
    expect((await pool.query(`SELECT dag_id FROM audit_log WHERE action = 'x'`)).rows).toEqual([{ dag_id: 'kept_long' }]);
    expect(result.deleted).toMatchObject({ dag_run: 4 + 7, task_log: 4 * 2 + 7 * 2 + 2 * 2, audit_log: 1 });
  });

  it('refuse a bad retention.days at deploy, naming the DAG', async () => {
    const dir = await dagFolder({ 'bad.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'bad_retention', retention: { days: 0 } }, () => { task('t', () => 1)(); });` });
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors.map((e) => e.message)).toEqual(['bad.ts: DAG "bad_retention": retention.days: must be at least 1 day']);
  });

  it('keep the latest scheduled run too, which the scheduler plans the next one from', async () => {
    const { pool } = platform;
    const scheduled = await seedHistory(pool, { dagId: 'with_manual', runs: 4, oldestDays: 90, newestDays: 60, tasksPerRun: 1, logLinesPerTry: 0 });
    // The newest run (highest id) is a manual one, as old as the rest.
    const manual = await seedHistory(pool, { dagId: 'with_manual', runs: 1, oldestDays: 50, newestDays: 50, tasksPerRun: 1, logLinesPerTry: 0 });
    await pool.query(`UPDATE dag_run SET run_type = 'manual', run_id = 'manual__x', logical_date = now() - interval '50 days' WHERE id = $1`, [manual[0]]);
    await cleanDatabase(pool, { olderThanMs: 30 * 86_400_000, dagId: 'with_manual', trigger: 'test' });
    const left = await pool.query<{ id: number }>(`SELECT id FROM dag_run WHERE dag_id = 'with_manual' ORDER BY id`);
    expect(left.rows.map((r) => r.id)).toEqual([scheduled.at(-1), manual[0]]);
  });

  it('never touch a queued or running run, however old', async () => {
    const { pool } = platform;
    const [running] = await seedHistory(pool, { dagId: 'still_running', runs: 2, oldestDays: 300, newestDays: 200, tasksPerRun: 1, logLinesPerTry: 1 });
    await pool.query(`UPDATE dag_run SET state = 'running', ended_at = NULL WHERE id = $1`, [running]);
    await cleanDatabase(pool, { olderThanMs: 86_400_000, keepLastPerDag: false, trigger: 'test' });
    expect((await pool.query<{ id: number }>(`SELECT id FROM dag_run WHERE dag_id = 'still_running'`)).rows).toEqual([{ id: running }]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM task_log l JOIN task_try t ON t.id = l.task_try_id JOIN task_instance ti ON ti.id = t.task_instance_id WHERE ti.dag_run_id = $1`, [running])).rows).toEqual([{ n: 1 }]);
  });

  it('reject options that make no sense, saying which', async () => {
    const { pool } = platform;
    await expect(cleanDatabase(pool, { olderThanMs: 1, dagId: 'nope', trigger: 'test' })).rejects.toThrow('there is no DAG "nope"');
    await expect(cleanDatabase(pool, { olderThanMs: 1, dagId: 'kept_long', tables: ['worker'], trigger: 'test' })).rejects.toThrow(
      'worker cannot be limited to one DAG; with a DAG, tables are dag_run, task_log, xcom, audit_log',
    );
    expect(() => parseAge('30 days')).toThrow('"30 days" is not an age: use a number of days, hours or minutes such as 30d, 12h or 90m');
    expect(() => parseTables(['dag_run', 'runs'])).toThrow('unknown table "runs"; tables are dag_run, task_log, xcom, audit_log, import_error, worker, scheduler, job');
    expect(() => resolveRetentionPolicy({}, { UPDRAFT_RETENTION_DAYS: 'forever' })).toThrow('UPDRAFT_RETENTION_DAYS must be a number of days (e.g. 30), got "forever"');
  });
});

describe('the retention cron job', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform?.close());

  it('is registered by workers given a policy, and its job runs a pass recorded as `cron`', async () => {
    const { pool } = platform;
    await seedHistory(pool, { dagId: 'cron_dag', runs: 3, oldestDays: 50, newestDays: 40, tasksPerRun: 1, logLinesPerTry: 1 });
    await pool.query(`INSERT INTO worker (id, hostname, pid, concurrency, stopped_at) VALUES ('old-worker', 'h', 1, 1, now() - interval '40 days')`);
    await platform.startWorker(1, { retention: resolveRetentionPolicy({ defaultDays: 30 }, {}) });
    // graphile-worker books the crontab once its runner is up (not before startWorker returns); the hourly tick is simulated by adding its job.
    await expect.poll(async () => (await pool.query(`SELECT identifier FROM graphile_worker._private_known_crontabs`)).rows, { timeout: 10_000 }).toEqual([{ identifier: 'updraft_retention' }]);
    await pool.query(`SELECT graphile_worker.add_job('updraft_retention', queue_name => 'updraft_retention', max_attempts => 1)`);
    let pass;
    for (let i = 0; i < 200 && !pass?.endedAt; i++) {
      pass = await platform.db.prisma.retentionPass.findFirst({ where: { trigger: 'cron' } });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pass).toMatchObject({ trigger: 'cron', error: null, deleted: expect.objectContaining({ dag_run: 2, worker: 1 }) });
    expect(pass!.policy).toMatchObject({ days: expect.objectContaining({ dag_run: 30, job: 30 }), keepLastPerDag: true });
    // The API lists it.
    const data = await graphql<{ retentionPasses: { edges: Array<{ node: { trigger: string; deleted: Record<string, number>; maxBatchMs: number } }> } }>(
      platform,
      `{ retentionPasses(first: 5) { edges { node { trigger deleted maxBatchMs } } } }`,
    );
    expect(data.retentionPasses.edges.map((e) => e.node)).toEqual([{ trigger: 'cron', deleted: pass!.deleted, maxBatchMs: pass!.maxBatchMs }]);
  });
});

describe('hostile retention options', () => {
  it('cost little and say little, however large', () => {
    const huge = 'x'.repeat(1_000_000);
    const tables = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    const t0 = performance.now();
    expect(() => parseTables([huge, ...tables])).toThrow(/^unknown tables "x{40}…", "t0", "t1" and 99998 more; tables are /);
    expect(() => parseAge(huge)).toThrow(/^"x{20}…" is not an age/);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});

describe('the retention configuration', () => {
  it('defaults to 30 days hourly, can be turned off, and names a bad setting', () => {
    const saved = { ...process.env };
    try {
      for (const key of Object.keys(process.env)) if (key.startsWith('UPDRAFT_RETENTION')) delete process.env[key];
      expect(resolveConfig().retention).toEqual({ defaultDays: 30, days: {}, schedule: '17 * * * *', batchSize: 1_000 });
      expect(resolveConfig({ retention: 'off' }).retention).toBeNull();
      expect(resolveConfig({ retention: { defaultDays: 90 } }).retention?.defaultDays).toBe(90);
      process.env.UPDRAFT_RETENTION_DAYS = 'off';
      expect(resolveConfig().retention).toBeNull();
      process.env.UPDRAFT_RETENTION_DAYS = '14';
      process.env.UPDRAFT_RETENTION_TASK_LOG_DAYS = '7';
      expect(resolveConfig().retention).toMatchObject({ defaultDays: 14, days: { task_log: 7 } });
      process.env.UPDRAFT_RETENTION_SCHEDULE = 'every hour';
      expect(() => resolveConfig()).toThrow('the retention schedule "every hour" is not a crontab time (5 fields, e.g. "17 * * * *")');
      delete process.env.UPDRAFT_RETENTION_SCHEDULE;
      process.env.UPDRAFT_RETENTION_XCOM_DAYS = '-1';
      expect(() => resolveConfig()).toThrow('the retention of xcom must be a number of days from more than 0 to 36500, got -1');
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});

describe('a pass and an operator on the same old run', () => {
  let platform: TestPlatform & { dagsDir: string };
  beforeAll(async () => {
    platform = await platformRunning({
      'wide.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'wide', defaultArgs: { isolation: 'none' } }, () => { for (let i = 0; i < 1000; i++) task('t' + i, () => i)(); });`,
    });
  });
  afterAll(() => platform?.close());

  it('never deadlock: a clear of a run being deleted either finds it gone or runs what is left', async () => {
    const { pool } = platform;
    const run = await platform.trigger('wide');
    expect(await platform.waitForRun(run, 120_000)).toBe('success');
    await pool.query(`UPDATE dag_run SET ended_at = now() - interval '60 days' WHERE id = $1`, [run]);
    const deadlocks = async () => (await pool.query<{ n: number }>('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n;
    const before = await deadlocks();
    const taskIds = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    // The clear starts as the pass's first batch of the run's XCom commits, and runs alongside its next batches.
    let clearing: Promise<number | Error> | undefined;
    const pass = await cleanDatabase(pool, {
      olderThanMs: 30 * 86_400_000,
      keepLastPerDag: false,
      tables: ['dag_run'],
      batchSize: 50,
      trigger: 'test',
      hooks: { afterXComDeleted: async () => void (clearing ??= clearTaskInstances(pool, { dagRunId: run, taskIds }).catch((e: Error) => e)) },
    });
    const cleared = await clearing;
    expect(pass.error).toBeNull();
    expect(await deadlocks()).toBe(before);
    const left = await pool.query<{ state: string }>('SELECT state FROM dag_run WHERE id = $1', [run]);
    if (left.rows.length > 0) {
      // The clear won the run (the pass skips a run that is no longer ended): what is left of it runs again and ends.
      expect(typeof cleared === 'number' || cleared instanceof Error).toBe(true);
      expect(await platform.waitForRun(run, 120_000)).toBe('success');
    }
    console.log(`pass deleted ${pass.deleted.xcom} XCom, ${pass.deleted.dag_run} run(s), ${pass.deleted.task_instance} task instances; clear: ${cleared instanceof Error ? cleared.message : `${cleared} cleared`}`);
  }, 240_000);
});
