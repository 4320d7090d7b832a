import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

// Many finishers at once on several workers: every join must run exactly once, every run
// must end, no task instance may be tried twice. Guards the locking in executor/transitions.ts.
describe('concurrent finishers', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const result = await platform.deploy(
      await dagFolder({
        'mesh.ts': `import { dag, task } from '@updraft/sdk';
const start = task('start', () => 1);
const fan = task('fan', (x: number) => x);
const join = task('join', (...xs: number[]) => xs.length);
const fanAgain = task('fan_again', (n: number) => n);
const end = task('end', (...xs: number[]) => xs.reduce((a, b) => a + b, 0));
export default dag({ id: 'mesh' }, () => {
  const s = start();
  const width = Array.from({ length: 60 }, () => fan(s));
  const joins = Array.from({ length: 3 }, () => join(...width));
  end(...joins.flatMap((j) => Array.from({ length: 10 }, () => fanAgain(j))));
});`,
      }),
    );
    expect(result.importErrors).toEqual([]);
    for (let i = 0; i < 3; i++) await platform.startWorker(8);
  });
  afterAll(() => platform.close());

  it('runs a 60-wide fan-out into joins and back out on 3 workers, each task exactly once', async () => {
    const runIds = await Promise.all(Array.from({ length: 4 }, () => platform.trigger('mesh')));
    for (const runId of runIds) expect(await platform.waitForRun(runId, 60_000)).toBe('success');

    const instances = await platform.db.prisma.taskInstance.findMany({ where: { dagRunId: { in: runIds } }, include: { tries: true } });
    expect(instances).toHaveLength(4 * (1 + 60 + 3 + 30 + 1));
    expect(instances.filter((ti) => ti.state !== 'success' || ti.tries.length !== 1)).toEqual([]);
    const ends = await platform.db.prisma.taskInstance.findMany({ where: { dagRunId: { in: runIds }, taskId: 'end' }, include: { xcoms: true } });
    expect(ends.map((ti) => ti.xcoms[0]!.value)).toEqual([1800, 1800, 1800, 1800]);
    const jobsLeft = await platform.pool.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs`);
    expect(jobsLeft.rows[0].n).toBe(0);
  });
});
