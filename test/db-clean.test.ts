// `updraft db clean` as a user runs it, against a test database.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultXComStore, readValue, type StoredXCom } from '../server/src/xcom/values.js';
import { updraft } from './support/cli.js';
import { seedBlobs, seededBlobValue, seedHistory, tableCounts } from './support/history.js';
import { createTestPlatform, dagFolder, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

const BUSY = `
import { dag, task } from '@updraft/sdk';
const step = task('step', async (n: number) => { await new Promise((r) => setTimeout(r, 200)); return n + 1; });
export default dag({ id: 'busy' }, () => { let v = step(0); for (let i = 1; i < 30; i++) v = step(v); });
`;

describe('updraft db clean', () => {
  let platform: TestPlatform;
  let env: Record<string, string>;
  const home = path.join(TEST_SCRATCH, 'db-clean-home', randomBytes(6).toString('hex'));
  const store = defaultXComStore(home);
  let oldKeys: string[];
  let recentKeys: string[];
  const onDisk = async (keys: string[]) => (await Promise.all(keys.map((key) => fs.stat(store.describe(key)).then(() => key, () => null)))).filter((k) => k !== null);
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder({ 'busy.ts': BUSY }))).importErrors).toEqual([]);
    await platform.startWorker(4, { xcomStore: store });
    env = { DATABASE_URL: platform.db.url, UPDRAFT_HOME: home };
    // 600 runs over 90 days (2 tasks, 10 lines a try): 400 of them older than 30 days, 16,000 rows with them.
    const runs = await seedHistory(platform.pool, { dagId: 'history', runs: 600, oldestDays: 89.9, newestDays: 0.1, tasksPerRun: 2, logLinesPerTry: 10 });
    // XCom values over 64 KB, files under <home>/xcom: 10 old runs and 10 recent ones (2 each).
    const keys = await seedBlobs(platform.pool, store, [...runs.slice(100, 110), ...runs.slice(580, 590)]);
    oldKeys = runs.slice(100, 110).flatMap((run) => keys.get(run)!);
    recentKeys = runs.slice(580, 590).flatMap((run) => keys.get(run)!);
    expect(await onDisk([...oldKeys, ...recentKeys])).toHaveLength(40);
  });
  afterAll(async () => {
    await platform?.close();
    await fs.rm(home, { recursive: true, force: true });
  });

  it('--dry-run prints the exact counts as one JSON line and deletes nothing', async () => {
    const before = await tableCounts(platform.pool);
    const { code, stdout, stderr } = await updraft(['db', 'clean', '--older-than', '30d', '--dry-run'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const old = Array.from({ length: 600 }, (_, i) => 89.9 - (89.8 * i) / 599).filter((age) => age > 30).length;
    expect(JSON.parse(stdout)).toEqual({
      dryRun: true,
      wouldDelete: { dag_run: old, task_instance: old * 2, task_try: old * 2, xcom: old * 2, task_log: old * 20, audit_log: 0, import_error: 0, worker: 0, scheduler: 0, job: 0 },
      blobs: 20,
    });
    expect(await tableCounts(platform.pool)).toEqual(before);
    expect(await platform.db.prisma.retentionPass.count()).toBe(0);
    expect(await onDisk([...oldKeys, ...recentKeys])).toHaveLength(40);
    expect((await platform.pool.query('SELECT count(*)::int AS n FROM xcom_blob_tombstone')).rows).toEqual([{ n: 0 }]);
  });

  // The run takes 6 s or more: the CLI starts and deletes meanwhile (checked below).
  it('deletes 10,000+ old rows in batches while a run executes, which finishes normally', async () => {
    const busy = await platform.trigger('busy');
    const { code, stdout, stderr } = await updraft(['db', 'clean', '--older-than', '30d'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    const total = Object.values(result.deleted as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(10_000);
    expect(result).toMatchObject({ dryRun: false, error: null, passId: expect.any(Number), blobs: 20 });
    // The old runs' blob files are gone when the command exits (the workers' sweep runs once a
    // minute); the recent runs' are there and decode.
    expect(await onDisk(oldKeys)).toEqual([]);
    expect(await onDisk(recentKeys)).toEqual(recentKeys);
    expect((await platform.pool.query('SELECT key FROM xcom_blob_tombstone WHERE key = ANY($1::text[])', [oldKeys])).rows).toEqual([]);
    const kept = await platform.pool.query<StoredXCom & { dag_run_id: number; task_id: string }>(
      `SELECT x.*, ti.dag_run_id, ti.task_id FROM xcom x JOIN task_instance ti ON ti.id = x.task_instance_id WHERE x.blob_key IS NOT NULL`,
    );
    expect(kept.rows.map((r) => r.blob_key).sort()).toEqual([...recentKeys].sort());
    for (const row of kept.rows) expect(await readValue(store, row, 'a kept value')).toEqual(seededBlobValue(row.dag_run_id, row.task_id));
    expect(await platform.waitForRun(busy, 60_000)).toBe('success');
    expect((await platform.taskInstances(busy)).every((ti) => ti.state === 'success')).toBe(true);
    const pass = await platform.db.prisma.retentionPass.findUniqueOrThrow({ where: { id: result.passId } });
    const run = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: busy } });
    expect(pass).toMatchObject({ trigger: 'cli', deleted: result.deleted, blobs: 20 });
    // The run was executing while the pass deleted.
    expect(run.startedAt!.getTime()).toBeLessThan(pass.endedAt!.getTime());
    expect(run.endedAt!.getTime()).toBeGreaterThan(pass.startedAt.getTime());
    console.log(`db clean: ${total} rows in ${result.durationMs} ms (${Math.round(total / (result.durationMs / 1000))} rows/s), ${result.batches} batches, longest ${result.maxBatchMs} ms`);
    // Nothing old is left but the newest run of each DAG.
    const again = await updraft(['db', 'clean', '--older-than', '30d', '--dry-run'], env);
    expect(JSON.parse(again.stdout).wouldDelete).toMatchObject({ dag_run: 0, task_log: 0, xcom: 0 });
  }, 120_000);

  it('says what is wrong with its arguments', async () => {
    const cases: Array<[string[], string]> = [
      [[], "error: required option '--older-than <age>' not specified"],
      [['--older-than', '30 days'], `error: option '--older-than <age>' argument '30 days' is invalid. "30 days" is not an age: use a number of days, hours or minutes such as 30d, 12h or 90m`],
      [['--older-than', '0d'], `error: option '--older-than <age>' argument '0d' is invalid. "0d" is not an age`],
      [['--older-than', '30d', '--tables', 'dag_run,runs'], `argument 'dag_run,runs' is invalid. unknown table "runs"; tables are dag_run, task_log, xcom, audit_log, import_error, worker, scheduler, job`],
      [['--older-than', '30d', '--dag', 'no_such_dag'], 'updraft: there is no DAG "no_such_dag"'],
      [['--older-than', '30d', '--dag', 'busy', '--tables', 'job'], 'updraft: job cannot be limited to one DAG; with a DAG, tables are dag_run, task_log, xcom, audit_log'],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await updraft(['db', 'clean', ...args, '--dry-run'], env);
      expect(code, args.join(' ')).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(message);
    }
  }, 120_000);
});
