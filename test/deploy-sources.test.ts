// Deploy sources own their DAG ids: a folder cannot silently replace another folder's DAG
// (and so the code its next run executes) unless it asks to with `takeover`.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDags } from '../server/src/deploy.js';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

/** A DAG file of one-task DAGs, each task returning its value: runs tell which folder's code they executed. */
const dagFile = (dags: Record<string, string>) =>
  `import { dag, task } from '@updraft/sdk';\n` +
  Object.entries(dags)
    .map(([id, value]) => `export const ${id} = dag({ id: '${id}' }, () => { task('which', () => ${JSON.stringify(value)})(); });\n`)
    .join('');
const returning = (id: string, value: string) => dagFile({ [id]: value });

describe('deploy sources own their DAGs', () => {
  let platform: TestPlatform;
  const deploy = (dir: string, source: string, opts: { takeover?: boolean } = {}) => deployDags(platform.db.prisma, dir, { cacheDir: platform.cacheDir, source, ...opts });
  /** Triggers a run of `dagId`, waits for it and returns what its task returned. */
  const run = async (dagId: string) => {
    const runId = await platform.trigger(dagId);
    expect(await platform.waitForRun(runId)).toBe('success');
    return (await platform.taskInstances(runId))[0]!.returnValue;
  };
  const dagRow = (id: string) => platform.db.prisma.dag.findUniqueOrThrow({ where: { id }, select: { source: true, fileName: true, isActive: true } });

  beforeAll(async () => {
    platform = await createTestPlatform();
    await platform.startWorker(2);
  });
  afterAll(() => platform.close());

  it("refuses a DAG id that an active DAG of another source owns; the owner's DAG keeps running its own code", async () => {
    const teamA = await dagFolder({ 'etl.ts': returning('etl', 'code of a') });
    expect((await deploy(teamA, 'teams/a')).importErrors).toEqual([]);
    expect(await run('etl')).toBe('code of a');

    const teamB = await dagFolder({
      // The file is the unit: its sibling DAG is not stored either.
      'pipelines/etl.ts': dagFile({ etl: 'code of b', etl_sibling: 'sibling of b' }),
      'report.ts': returning('b_report', 'report of b'),
    });
    const refused = await deploy(teamB, 'teams/b');
    expect(refused.importErrors).toEqual([
      {
        fileName: 'pipelines/etl.ts',
        message:
          'pipelines/etl.ts: DAG "etl" belongs to deploy source "teams/a" (file etl.ts); deploy it from there, retire it there first, or pass --takeover to move it to "teams/b"',
      },
    ]);
    expect(refused.dags.map((d) => d.dagId)).toEqual(['b_report']);
    expect(await platform.db.prisma.importError.findMany({ where: { source: 'teams/b' }, select: { fileName: true } })).toEqual([{ fileName: 'pipelines/etl.ts' }]);
    expect(await platform.db.prisma.dag.findUnique({ where: { id: 'etl_sibling' } })).toBeNull();
    expect(await dagRow('etl')).toEqual({ source: 'teams/a', fileName: 'etl.ts', isActive: true });
    expect(await platform.db.prisma.dagVersion.count({ where: { dagId: 'etl' } })).toBe(1);
    expect(await run('etl')).toBe('code of a');

    // Redeploying the owner still works, and its DAG is not retired by the other source.
    expect((await deploy(teamA, 'teams/a')).dags).toEqual([{ dagId: 'etl', fileName: 'etl.ts', versionNumber: 1, changed: false }]);

    // --takeover moves it on purpose; the next run runs the new code.
    const moved = await deploy(teamB, 'teams/b', { takeover: true });
    expect(moved.importErrors).toEqual([]);
    expect(moved.dags.find((d) => d.dagId === 'etl')).toEqual({ dagId: 'etl', fileName: 'pipelines/etl.ts', versionNumber: 2, changed: true, movedFrom: 'teams/a' });
    expect(moved.dags.find((d) => d.dagId === 'etl_sibling')).toMatchObject({ versionNumber: 1 });
    expect(await dagRow('etl')).toEqual({ source: 'teams/b', fileName: 'pipelines/etl.ts', isActive: true });
    expect(await run('etl')).toBe('code of b');

    // Now the former owner is the one refused, naming the new owner; the DAG stays with b.
    const back = await deploy(teamA, 'teams/a');
    expect(back.dags).toEqual([]);
    expect(back.importErrors).toEqual([
      {
        fileName: 'etl.ts',
        message:
          'etl.ts: DAG "etl" belongs to deploy source "teams/b" (file pipelines/etl.ts); deploy it from there, retire it there first, or pass --takeover to move it to "teams/a"',
      },
    ]);
    expect(await dagRow('etl')).toEqual({ source: 'teams/b', fileName: 'pipelines/etl.ts', isActive: true });
    expect(await run('etl')).toBe('code of b');
  });

  it('lets another source reuse the id of a retired DAG without --takeover', async () => {
    const teamA = await dagFolder({ 'old.ts': returning('reused', 'retired code of a'), 'keep.ts': returning('a_keeps', 'a') });
    await deploy(teamA, 'reuse/a');
    await rm(path.join(teamA, 'old.ts'));
    await deploy(teamA, 'reuse/a');
    expect(await dagRow('reused')).toMatchObject({ source: 'reuse/a', isActive: false });

    const teamB = await dagFolder({ 'new.ts': returning('reused', 'code of b') });
    const result = await deploy(teamB, 'reuse/b');
    expect(result.importErrors).toEqual([]);
    expect(result.dags).toEqual([{ dagId: 'reused', fileName: 'new.ts', versionNumber: 2, changed: true, movedFrom: 'reuse/a' }]);
    expect(await dagRow('reused')).toEqual({ source: 'reuse/b', fileName: 'new.ts', isActive: true });
    expect(await run('reused')).toBe('code of b');
    // Its old source's deploys leave it alone now (it is not theirs to retire).
    await deploy(teamA, 'reuse/a');
    expect(await dagRow('reused')).toMatchObject({ source: 'reuse/b', isActive: true });
  });

  it('two concurrent deploys of different sources declaring a new id: exactly one gets it', async () => {
    const one = await dagFolder({ 'race.ts': returning('raced', 'one') });
    const two = await dagFolder({ 'race.ts': returning('raced', 'two') });
    const [a, b] = await Promise.all([deploy(one, 'race/one'), deploy(two, 'race/two')]);
    const winner = a.dags.length === 1 ? 'race/one' : 'race/two';
    const loser = winner === 'race/one' ? b : a;
    expect([a.dags.length + b.dags.length, a.importErrors.length + b.importErrors.length]).toEqual([1, 1]);
    expect(loser.importErrors[0]!.message).toContain(`DAG "raced" belongs to deploy source "${winner}"`);
    expect(await dagRow('raced')).toMatchObject({ source: winner });
    expect(await run('raced')).toBe(winner === 'race/one' ? 'one' : 'two');
  });

  it('a DAG row committed by another source while the deploy writes is detected, not overwritten', async () => {
    // Forces the interleaving the test above may or may not hit: another source's deploy
    // has inserted the id but not committed when this deploy checks ownership (so there is
    // no row to lock yet), and commits while this deploy writes.
    const other = await platform.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO dag (id, source, file_name) VALUES ('contested', 'race/other', 'theirs.ts')`);
      const dir = await dagFolder({ 'mine.ts': returning('contested', 'mine'), 'free.ts': returning('uncontested', 'free') });
      const xid = (await other.query(`SELECT pg_current_xact_id()::text AS xid`)).rows[0].xid as string;
      const deploying = deploy(dir, 'race/mine');
      deploying.catch(() => undefined); // awaited below
      const deadline = Date.now() + 20_000;
      for (;;) {
        const waiting = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1`;
        if ((await platform.pool.query(waiting, [xid])).rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error('the deploy never waited for the uncommitted dag row');
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('COMMIT');
      const result = await deploying;
      expect(result.dags.map((d) => d.dagId)).toEqual(['uncontested']);
      expect(result.importErrors).toEqual([{ fileName: 'mine.ts', message: expect.stringContaining('DAG "contested" belongs to deploy source "race/other" (file theirs.ts)') }]);
      expect(await dagRow('contested')).toEqual({ source: 'race/other', fileName: 'theirs.ts', isActive: true });
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
  });
});
