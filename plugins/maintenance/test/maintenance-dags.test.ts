// The maintenance DAGs against a real platform: deployed from a DAG file that re-exports them,
// run by a worker, on 5,000 old runs with 200,000 log lines, while another run executes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalXComStore } from '../../../server/src/xcom/store.js';
import { readValue, type StoredXCom } from '../../../server/src/xcom/values.js';
import { seedBlobs, seededBlobValue, seedHistory, tableCounts } from '../../../test/support/history.js';
import { createTestPlatform, dagFolder, TEST_SCRATCH, type TestPlatform } from '../../../test/support/platform.js';

const DAGS = {
  'maintenance.ts': `export { maintenanceDbCleanup, maintenanceLogCleanup, maintenanceOrphanSweep } from '@updraft/plugin-maintenance';`,
  // A run that executes while the cleanups delete: 25 tasks one after the other.
  'busy.ts': `
import { dag, task } from '@updraft/sdk';
const step = task('step', async (n: number) => { await new Promise((r) => setTimeout(r, 40)); return n + 1; });
export default dag({ id: 'busy' }, () => { let v = step(0); for (let i = 1; i < 25; i++) v = step(v); });
`,
  'isolated.ts': `
import { dag, task } from '@updraft/sdk';
import { maintenance } from '@updraft/plugin-maintenance';
const sneaky = task('sneaky', async () => maintenance().cleanDatabase({ maxAgeDays: 1 }));
export default dag({ id: 'isolated_maintenance' }, () => { sneaky(); });
`,
};

const DAY_MS = 86_400_000;
/** Ages (days) of the runs seedHistory writes: evenly from oldest to newest. */
const ages = (n: number, oldest: number, newest: number) => Array.from({ length: n }, (_, i) => oldest - ((oldest - newest) * i) / Math.max(n - 1, 1));

describe('the maintenance DAGs', () => {
  let platform: TestPlatform;
  // A store of this file's own: what is on disk is only what these tests wrote.
  const store = new LocalXComStore(path.join(TEST_SCRATCH, 'xcom-maintenance', randomBytes(6).toString('hex')));
  beforeAll(async () => {
    platform = await createTestPlatform();
    const { importErrors } = await platform.deploy(await dagFolder(DAGS));
    expect(importErrors).toEqual([]);
    // The worker's own retention hook: each batch's XCom blobs are deleted as it commits.
    await platform.startWorker(4, { xcomStore: store });
  });
  afterAll(async () => {
    await platform?.close();
    await fs.rm(store.folder, { recursive: true, force: true });
  });

  it('arrive paused', async () => {
    const dags = await platform.db.prisma.dag.findMany({ where: { tags: { has: 'maintenance' } }, orderBy: { id: 'asc' } });
    expect(dags.map((d) => [d.id, d.paused])).toEqual([
      ['maintenance_db_cleanup', true],
      ['maintenance_log_cleanup', true],
      ['maintenance_orphan_sweep', true],
    ]);
  });

  it('delete exactly the old rows of 5,000 runs and 200,000 log lines and their XCom blobs, keep the newest run of each DAG, and a run executing meanwhile finishes', async () => {
    const { pool } = platform;
    // 5 DAGs × 1,000 runs over 90 days (2 tasks a run, 20 lines a try: 200,000 lines), and a
    // DAG whose runs are all old.
    const history: number[][] = [];
    for (let d = 0; d < 5; d++) history.push(await seedHistory(pool, { dagId: `history_${d}`, runs: 1_000, oldestDays: 89.95, newestDays: 0.05, tasksPerRun: 2, logLinesPerTry: 20 }));
    const ancient = await seedHistory(pool, { dagId: 'ancient', runs: 3, oldestDays: 80, newestDays: 60, tasksPerRun: 1, logLinesPerTry: 0 });
    // XCom values over 64 KB (files in the object store): 20 old runs of history_0 and 20 of
    // history_1, 20 recent runs of each, and the two oldest and the newest (kept) run of ancient.
    const oldWithBlobs = [...history[0]!.slice(0, 20), ...history[1]!.slice(300, 320), ...ancient.slice(0, 2)];
    const keptWithBlobs = [...history[0]!.slice(980), ...history[1]!.slice(700, 720), ancient.at(-1)!];
    const blobKeys = await seedBlobs(pool, store, [...oldWithBlobs, ...keptWithBlobs]);
    const keysOf = (runs: number[]) => runs.flatMap((run) => blobKeys.get(run) ?? []);
    const onDisk = async (keys: string[]) => (await Promise.all(keys.map((key) => fs.stat(store.describe(key)).then(() => key, () => null)))).filter((k) => k !== null);
    expect(keysOf(oldWithBlobs)).toHaveLength(2 * 40 + 2);
    expect(await onDisk(keysOf([...oldWithBlobs, ...keptWithBlobs]))).toHaveLength(2 * 80 + 3);
    const before = await tableCounts(pool);
    expect(before.task_log).toBe(200_000);
    const oldRuns = 5 * ages(1_000, 89.95, 0.05).filter((age) => age > 30).length; // 667 a DAG
    const keptRuns = 5_000 - oldRuns;

    await platform.db.prisma.dag.updateMany({ where: { tags: { has: 'maintenance' } }, data: { paused: false } });
    const busy = await platform.trigger('busy');
    const logCleanup = await platform.trigger('maintenance_log_cleanup', { maxAgeDays: 30 });
    expect(await platform.waitForRun(logCleanup, 120_000)).toBe('success');
    const dbCleanup = await platform.trigger('maintenance_db_cleanup', { maxAgeDays: 30 });
    expect(await platform.waitForRun(dbCleanup, 120_000)).toBe('success');
    expect(await platform.waitForRun(busy, 60_000)).toBe('success');
    expect((await platform.taskInstances(busy)).map((ti) => ti.state)).toEqual(Array(25).fill('success'));

    // The log cleanup deleted the lines of old tries (ended runs, not the latest of a DAG)...
    const [logCounts] = (await platform.taskInstances(logCleanup)).map((ti) => ti.returnValue as { deleted: Record<string, number>; dryRun: boolean });
    expect(logCounts).toMatchObject({ dryRun: false, deleted: { task_log: oldRuns * 2 * 20, dag_run: 0, xcom: 0 } });
    // ...then the database cleanup the old runs with what was under them, and the runs of
    // the two cleanups themselves are not old.
    const [dbCounts] = (await platform.taskInstances(dbCleanup)).map((ti) => ti.returnValue as { deleted: Record<string, number>; passId: number });
    expect(dbCounts!.deleted).toMatchObject({ dag_run: oldRuns + 2, task_instance: oldRuns * 2 + 2, task_try: oldRuns * 2 + 2, xcom: oldRuns * 2 + 2, task_log: 0 });
    const after = await tableCounts(pool);
    expect(after.task_log).toBeLessThan(200_000 - oldRuns * 40 + 100); // + the lines of the three runs made here
    const left = await pool.query<{ dag_id: string; n: number; oldest_days: number }>(
      `SELECT dag_id, count(*)::int AS n, max(extract(epoch FROM now() - ended_at) / 86400)::float8 AS oldest_days FROM dag_run GROUP BY dag_id ORDER BY dag_id`,
    );
    expect(left.rows.filter((r) => r.dag_id.startsWith('history_')).map((r) => r.n)).toEqual(Array(5).fill(keptRuns / 5));
    for (const r of left.rows.filter((r) => r.dag_id.startsWith('history_'))) expect(r.oldest_days).toBeLessThan(30);
    // The newest run of a DAG is kept however old it is.
    expect((await pool.query('SELECT id FROM dag_run WHERE dag_id = $1', ['ancient'])).rows).toEqual([{ id: ancient.at(-1) }]);
    // Exactly the old runs' blobs are gone from disk (deleted by the pass, batch by batch, not
    // left for the periodic sweep), and the kept runs' values are there and decode.
    expect(dbCounts).toMatchObject({ blobs: keysOf(oldWithBlobs).length });
    expect(await onDisk(keysOf(oldWithBlobs))).toEqual([]);
    expect(await onDisk(keysOf(keptWithBlobs))).toEqual(keysOf(keptWithBlobs));
    const kept = await pool.query<StoredXCom & { dag_run_id: number; task_id: string }>(
      `SELECT x.*, ti.dag_run_id, ti.task_id FROM xcom x JOIN task_instance ti ON ti.id = x.task_instance_id WHERE x.blob_key IS NOT NULL ORDER BY x.id`,
    );
    expect(kept.rows.map((r) => r.blob_key).sort()).toEqual(keysOf(keptWithBlobs).sort());
    for (const row of kept.rows) expect(await readValue(store, row, 'a kept value')).toEqual(seededBlobValue(row.dag_run_id, row.task_id));
    expect((await pool.query('SELECT key FROM xcom_blob_tombstone WHERE key = ANY($1::text[])', [keysOf(oldWithBlobs)])).rows).toEqual([]);
    // The pass is recorded, with the DAG as its trigger.
    const pass = await platform.db.prisma.retentionPass.findUniqueOrThrow({ where: { id: dbCounts!.passId } });
    expect(pass).toMatchObject({ trigger: 'dag:maintenance_db_cleanup', error: null, deleted: dbCounts!.deleted, blobs: keysOf(oldWithBlobs).length });
    // The busy run executed while the cleanups deleted.
    const passes = await platform.db.prisma.retentionPass.findMany({ orderBy: { id: 'asc' } });
    const busyRun = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: busy } });
    const logPass = passes.find((p) => p.trigger === 'dag:maintenance_log_cleanup')!;
    expect(busyRun.startedAt!.getTime()).toBeLessThan(logPass.endedAt!.getTime());
    expect(busyRun.endedAt!.getTime()).toBeGreaterThan(logPass.startedAt.getTime());
    console.log(`log cleanup ${passes[0]!.startedAt.toISOString()} .. ${passes[0]!.endedAt!.toISOString()}, batches ${passes[0]!.batches}, longest ${passes[0]!.maxBatchMs} ms; db cleanup ${pass.startedAt.toISOString()} .. ${pass.endedAt!.toISOString()}; busy ${busyRun.startedAt!.toISOString()} .. ${busyRun.endedAt!.toISOString()}`);
    console.log(`db cleanup: ${pass.batches} batches, longest ${pass.maxBatchMs} ms, ${Math.round(Object.values(dbCounts!.deleted).reduce((a, b) => a + b, 0) / ((pass.endedAt!.getTime() - pass.startedAt.getTime()) / 1000))} rows/s`);
  }, 240_000);

  it('dry run deletes nothing and returns what it would delete', async () => {
    await seedHistory(platform.pool, { dagId: 'dry', runs: 10, oldestDays: 50, newestDays: 40, tasksPerRun: 1, logLinesPerTry: 3 });
    const before = await tableCounts(platform.pool);
    const run = await platform.trigger('maintenance_db_cleanup', { maxAgeDays: 30, dryRun: true, tables: ['dag_run'] });
    expect(await platform.waitForRun(run)).toBe('success');
    const [counts] = (await platform.taskInstances(run)).map((ti) => ti.returnValue);
    expect(counts).toMatchObject({ dryRun: true, passId: null, deleted: { dag_run: 9, task_instance: 9, task_try: 9, xcom: 9, task_log: 27 } });
    const after = await tableCounts(platform.pool);
    // Only the dry run's own rows were added.
    expect(after.dag_run).toBe(before.dag_run! + 1);
    expect(after.task_log! - before.task_log!).toBeLessThan(10);
  });

  it('refuse to run in an isolated task, which has no database access', async () => {
    const run = await platform.trigger('isolated_maintenance');
    expect(await platform.waitForRun(run)).toBe('failed');
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: run } } });
    expect(tries[0]!.error).toMatchObject({ name: 'MaintenanceUnavailable', message: expect.stringContaining(`give the task isolation: 'none'`) });
  });
});

describe('maintenance_orphan_sweep', () => {
  let cleanup: TestPlatform | undefined;
  afterAll(() => cleanup?.close());

  it('closes a try whose worker is gone and returns the counts', async () => {
    // A platform of its own: its worker starts after the orphan exists, and its own recovery
    // (which does the same) first runs 5 s or more after it starts, after this run.
    const platform = await createTestPlatform();
    cleanup = platform;
    await platform.deploy(await dagFolder({ 'maintenance.ts': DAGS['maintenance.ts'] }));
    await platform.db.prisma.dag.updateMany({ where: { tags: { has: 'maintenance' } }, data: { paused: false } });
    const { pool } = platform;
    const [seeded] = await seedHistory(pool, { dagId: 'orphaned', runs: 1, oldestDays: 0, newestDays: 0, tasksPerRun: 1, logLinesPerTry: 0 });
    await pool.query(`UPDATE dag_run SET state = 'running', ended_at = NULL WHERE id = $1`, [seeded]);
    await pool.query(`INSERT INTO worker (id, hostname, pid, concurrency, last_heartbeat_at) VALUES ('gone', 'h', 1, 1, now() - interval '1 hour')`);
    await pool.query(
      `WITH ti AS (UPDATE task_instance SET state = 'running', ended_at = NULL WHERE dag_run_id = $1 RETURNING id)
       UPDATE task_try SET state = 'running', ended_at = NULL, worker_id = 'gone' FROM ti WHERE task_try.task_instance_id = ti.id`,
      [seeded],
    );
    // The seeded DAG's structure must name its task for the sweep to finish the try normally.
    await pool.query(`UPDATE dag_version SET structure = $2 WHERE dag_id = $1`, [
      'orphaned',
      JSON.stringify({ format: 4, id: 'orphaned', fileName: 'seed.ts', description: null, schedule: null, tags: [], failRunOnAnyFailure: false, paramsSchema: null,
        tasks: [{ id: 't1', upstreamIds: [], downstreamIds: [], args: [], triggerRule: 'all_success', retries: 0, retryDelayMs: 0, retryExponentialBackoff: false, maxRetryDelayMs: 0, timeoutMs: null, isolation: 'process', memoryLimitMb: null, maxMapLength: 100000, maxActiveTisPerTask: null }] }),
    ]);
    // Silence counts from PostgreSQL's start at the earliest (select_lost_tries.sql): when this
    // file runs alone, the test server may be younger than the 30 s lost-worker timeout.
    for (;;) {
      const { rows } = await pool.query<{ age: number }>('SELECT extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS age');
      if (rows[0]!.age > 31) break;
      await new Promise((r) => setTimeout(r, (31 - rows[0]!.age) * 1000));
    }
    await platform.startWorker(1);
    const run = await platform.trigger('maintenance_orphan_sweep');
    expect(await platform.waitForRun(run)).toBe('success');
    const [counts] = (await platform.taskInstances(run)).map((ti) => ti.returnValue);
    expect(counts).toMatchObject({ closedTries: 1, lostWorkers: 1 });
    expect((await pool.query('SELECT state FROM dag_run WHERE id = $1', [seeded])).rows).toEqual([{ state: 'failed' }]);
    expect((await pool.query(`SELECT stopped_at IS NOT NULL AS stopped FROM worker WHERE id = 'gone'`)).rows).toEqual([{ stopped: true }]);
  }, 60_000);

});
