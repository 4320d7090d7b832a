import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDags } from '../server/src/deploy.js';
import { createTestPlatform, dagFolder, writeDagFiles, type TestPlatform } from './support/platform.js';

const chainDag = (id: string, extra = '') => `
import { dag, task } from '@updraft/sdk';
const first = task('first', () => 1);
const second = task('second', (n: number) => n + 1);
export default dag({ id: '${id}' }, () => { second(first()); ${extra} });
`;

describe('deploy', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
  });
  afterAll(() => platform.close());

  it('stores DAGs with their structure, and reports every broken file without stopping the others', async () => {
    const dir = await dagFolder({
      'good.ts': chainDag('good'),
      'cycle.ts': `
import { dag, task } from '@updraft/sdk';
const a = task('a', () => 1);
const b = task('b', () => 2);
const c = task('c', () => 3);
export default dag({ id: 'cyclic' }, () => { const x = a(); const y = b().after(x); c().after(y); x.after('c'); });
`,
      'duplicate.ts': `
import { dag, task } from '@updraft/sdk';
const one = task('same', () => 1);
const two = task('same', () => 2);
export default dag({ id: 'dupes' }, () => { one(); two(); });
`,
      'unknown.ts': chainDag('unknown_upstream', "task('orphan', () => 0)().after('ghost');"),
      'options.ts': `
import { dag, task } from '@updraft/sdk';
const t = task({ id: 'negative', retries: -1, retryDelay: 'soon' as never }, () => 1);
export default dag({ id: 'bad_options', schedule: 'every day' }, () => { t(); });
`,
      'syntax.ts': `import { dag } from '@updraft/sdk';\nexport default dag({ id: 'broken' }, () => { (`,
      'throws.ts': `import { dag } from '@updraft/sdk';\nthrow new Error('cannot reach the warehouse');\nexport default dag({ id: 'never' }, () => {});`,
      'helpers/util.ts': `export const notADag = 1;`,
    });
    const result = await platform.deploy(dir);

    expect(result.dags.map((d) => d.dagId)).toEqual(['good']);
    const errors = Object.fromEntries(result.importErrors.map((e) => [e.fileName, e.message]));
    expect(Object.keys(errors).sort()).toEqual(['cycle.ts', 'duplicate.ts', 'options.ts', 'syntax.ts', 'throws.ts', 'unknown.ts']);
    expect(errors['cycle.ts']).toMatch(/cycle\.ts: DAG "cyclic": cycle between tasks (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
    expect(errors['duplicate.ts']).toContain('duplicate.ts: DAG "dupes", task "same": duplicate task id');
    expect(errors['unknown.ts']).toContain('DAG "unknown_upstream", task "orphan": depends on unknown task "ghost"');
    expect(errors['options.ts']).toContain('DAG "bad_options": task "negative": retries: must be 0 or more');
    expect(errors['options.ts']).toContain('task "negative": retryDelay: "soon" is not a duration');
    expect(errors['syntax.ts']).toMatch(/^syntax\.ts:2:\d+: /);
    expect(errors['throws.ts']).toContain('cannot reach the warehouse');

    const stored = await platform.db.prisma.importError.findMany({ orderBy: { fileName: 'asc' } });
    expect(stored.map((e) => e.fileName)).toEqual(Object.keys(errors).sort());
    const good = await platform.db.prisma.dagVersion.findFirstOrThrow({ where: { dagId: 'good' } });
    expect((good.structure as { tasks: Array<{ id: string; upstreamIds: string[] }> }).tasks.map((t) => [t.id, t.upstreamIds])).toEqual([
      ['first', []],
      ['second', ['first']],
    ]);
  });

  it('reports every invalid DAG of a file, and stores none of that file', async () => {
    const dir = await dagFolder({
      'several.ts': `
import { dag, task } from '@updraft/sdk';
export const looping = dag({ id: 'looping' }, () => { task('x', () => 1)().after('y'); task('y', () => 1)().after('x'); });
export const valid = dag({ id: 'valid_sibling' }, () => { task('t', () => 1)(); });
export const dangling = dag({ id: 'dangling' }, () => { task('t', () => 1)().after('nowhere'); });
export const badly_scheduled = dag({ id: 'badly_scheduled', schedule: 'whenever' }, () => { task('t', () => 1)(); });
`,
      'fine.ts': chainDag('fine_beside_several'),
    });
    const result = await platform.deploy(dir);
    expect(result.dags.map((d) => d.dagId)).toEqual(['fine_beside_several']);
    expect(result.importErrors).toHaveLength(1);
    const lines = result.importErrors[0]!.message.split('\n').sort();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^several\.ts: DAG "badly_scheduled": schedule: "whenever" is not a cron expression/);
    expect(lines[1]).toBe('several.ts: DAG "dangling", task "t": depends on unknown task "nowhere"');
    expect(lines[2]).toMatch(/^several\.ts: DAG "looping": cycle between tasks (x -> y -> x|y -> x -> y)$/);
    expect(await platform.db.prisma.dag.count({ where: { id: { in: ['looping', 'valid_sibling', 'dangling', 'badly_scheduled'] } } })).toBe(0);
  });

  it('gives each file its own import time limit: slow files load, a hanging file is blamed alone', async () => {
    const sleep = (ms: number) => `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0${ms === Infinity ? '' : `, ${ms}`});`;
    const slowDag = (id: string, ms: number) => `import { dag, task } from '@updraft/sdk';\n${sleep(ms)}\nexport default dag({ id: '${id}' }, () => { task('t', () => 1)(); });`;
    // Loaded in this order by one child: together the two slow files take longer than the
    // limit, each alone well within it.
    const dir = await dagFolder({
      'a_slow.ts': slowDag('slow_a', 1500),
      'b_slow.ts': slowDag('slow_b', 1500),
      'c_hangs.ts': slowDag('hangs', Infinity),
      'd_after.ts': chainDag('after_the_hang'),
    });
    const started = Date.now();
    const result = await deployDags(platform.db.prisma, dir, { cacheDir: platform.cacheDir, importTimeoutMs: 2500 });
    expect(result.dags.map((d) => d.dagId).sort()).toEqual(['after_the_hang', 'slow_a', 'slow_b']);
    expect(result.importErrors).toEqual([
      {
        fileName: 'c_hangs.ts',
        message: 'c_hangs.ts: loading the file took longer than the import time limit of 2.5 s; DAG files must not block at import time (do slow work inside tasks)',
      },
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500 + 1500 + 2500);
  });

  it('reports an invalid schedule with the DAG id', async () => {
    const dir = await dagFolder({
      'sched.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'sched', schedule: '61 * * * *' }, () => { task('t', () => 1)(); });`,
    });
    const result = await platform.deploy(dir);
    expect(result.importErrors[0]!.message).toContain('sched.ts: DAG "sched": schedule: "61 * * * *" is not a cron expression (Constraint error, got value 61 expected range 0-59)');
  });

  it('stores a new DagVersion only when the structure or the code changed', async () => {
    const dir = await dagFolder({ 'versioned.ts': chainDag('versioned'), 'other.ts': chainDag('other') });
    const versionOf = async () => (await platform.deploy(dir)).dags.find((d) => d.dagId === 'versioned')!;

    expect(await versionOf()).toMatchObject({ versionNumber: 1, changed: true });
    expect(await versionOf()).toMatchObject({ versionNumber: 1, changed: false });

    await writeDagFiles(dir, { 'other.ts': chainDag('other', '/* another file changed */') });
    expect(await versionOf()).toMatchObject({ versionNumber: 1, changed: false });

    await writeDagFiles(dir, { 'versioned.ts': chainDag('versioned').replace('n + 1', 'n + 2') });
    expect(await versionOf()).toMatchObject({ versionNumber: 2, changed: true });

    await writeDagFiles(dir, { 'versioned.ts': chainDag('versioned', "task('third', () => 3)();") });
    expect(await versionOf()).toMatchObject({ versionNumber: 3, changed: true });
  });

  it('keeps each version’s DAG file text, and gives it to a version stored before texts were kept', async () => {
    const dir = await dagFolder({ 'texts.ts': chainDag('texts') });
    await platform.deploy(dir);
    const version = () => platform.db.prisma.dagVersion.findFirstOrThrow({ where: { dagId: 'texts' }, orderBy: { versionNumber: 'desc' } });
    expect(await version()).toMatchObject({ versionNumber: 1, sourceCode: chainDag('texts') });
    // As a version deployed by an earlier release: no text. The same code deployed again fills it in.
    await platform.db.prisma.dagVersion.updateMany({ where: { dagId: 'texts' }, data: { sourceCode: null } });
    await platform.deploy(dir);
    expect(await version()).toMatchObject({ versionNumber: 1, sourceCode: chainDag('texts') });
  });

  it('leaves the DAGs and import errors of other deploy sources alone', async () => {
    const teamA = await dagFolder({ 'a.ts': chainDag('team_a'), 'broken.ts': 'import "@updraft/sdk"; throw new Error("a is broken")' });
    const teamB = await dagFolder({ 'b.ts': chainDag('team_b') });
    const a = await platform.deploy(teamA);
    const b = await platform.deploy(teamB);
    expect(a.source).not.toBe(b.source);
    expect(a.source).toMatch(/^\.updraft\/test\/run-\d+\/dags\/[0-9a-f]+$/); // the folder relative to the working directory
    const dags = await platform.db.prisma.dag.findMany({ where: { id: { in: ['team_a', 'team_b'] } }, orderBy: { id: 'asc' } });
    expect(dags.map((d) => [d.id, d.source, d.isActive])).toEqual([
      ['team_a', a.source, true],
      ['team_b', b.source, true],
    ]);
    expect(await platform.db.prisma.importError.findMany({ where: { source: a.source }, select: { fileName: true } })).toEqual([{ fileName: 'broken.ts' }]);
  });

  it('marks DAGs whose file is gone inactive, and keeps those of a file that broke', async () => {
    const dir = await dagFolder({ 'stays.ts': chainDag('stays'), 'goes.ts': chainDag('goes') });
    await platform.deploy(dir);
    const { rm } = await import('node:fs/promises');
    await rm(`${dir}/goes.ts`);
    await writeDagFiles(dir, { 'stays.ts': 'import "@updraft/sdk"; throw new Error("oops")' });
    await platform.deploy(dir);
    const dags = await platform.db.prisma.dag.findMany({ where: { id: { in: ['stays', 'goes'] } }, orderBy: { id: 'asc' } });
    expect(dags.map((d) => [d.id, d.isActive])).toEqual([
      ['goes', false],
      ['stays', true],
    ]);
    await expect(platform.trigger('goes')).rejects.toThrow('DAG "goes" is no longer in the deployed DAG folder; deploy its file again to run it');
  });
});
