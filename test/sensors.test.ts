// Sensors: poke mode checks in one try; reschedule mode frees its slot between checks.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dagFolder, platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'sensors.ts': `
import { existsSync } from 'node:fs';
import { context, dag, sensor, task } from '@updraft/sdk';
const gate = () => { const file = String(context().conf.gate); return existsSync(file) && file; };
const waitRescheduling = sensor({ id: 'wait', mode: 'reschedule', interval: '200ms', timeout: '1m', retries: 0 }, gate);
const waitPoking = sensor({ id: 'wait', mode: 'poke', interval: '50ms', timeout: '1m' }, gate);
const never = sensor({ id: 'never', interval: '50ms', timeout: '300ms', retries: 2 }, () => false);
const neverSoft = sensor({ id: 'never', interval: '50ms', timeout: '300ms', softFail: true }, () => 0);
const neverRescheduling = sensor({ id: 'never', mode: 'reschedule', interval: '100ms', timeout: '400ms' }, () => null);
const use = task('use', (file: string) => 'found ' + file.split('/').pop());
const quick = task('quick', () => 'quick');
export const rescheduling = dag({ id: 'rescheduling' }, () => { use(waitRescheduling()); });
export const poking = dag({ id: 'poking' }, () => { use(waitPoking()); });
export const timingOut = dag({ id: 'timing_out' }, () => { use(never()); });
export const soft = dag({ id: 'soft' }, () => { use(neverSoft()); });
export const reschedulingOut = dag({ id: 'rescheduling_out' }, () => { use(neverRescheduling()); });
export const other = dag({ id: 'other' }, () => { quick(); });
`,
};

describe('sensors', () => {
  let platform: TestPlatform & { dagsDir: string };
  let gates: string;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 1); // one slot: a sensor holding it would block everything else
    gates = path.join(platform.dagsDir, 'gates');
    await fs.mkdir(gates);
  });
  afterAll(() => platform.close());

  async function tries(runId: number, taskId: string) {
    const rows = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId } }, orderBy: { tryNumber: 'asc' } });
    return rows.map((t) => [t.state, (t.error as { name?: string } | null)?.name ?? null]);
  }

  it('in reschedule mode frees its slot between checks: another task runs on a worker of concurrency 1 while it waits', async () => {
    const gate = path.join(gates, 'rescheduling');
    const waiting = await platform.trigger('rescheduling', { gate });
    const deadline = Date.now() + 20_000;
    while ((await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: waiting, taskId: 'wait' } })).state !== 'up_for_reschedule') {
      if (Date.now() > deadline) throw new Error('the sensor never rescheduled');
      await new Promise((r) => setTimeout(r, 20));
    }
    const other = await platform.trigger('other');
    expect(await platform.waitForRun(other)).toBe('success'); // ran while the sensor waited
    expect((await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: waiting } })).state).toBe('running');

    await fs.writeFile(gate, '');
    expect(await platform.waitForRun(waiting)).toBe('success');
    const checks = await tries(waiting, 'wait');
    expect(checks.length).toBeGreaterThan(1);
    expect(checks.slice(0, -1).every(([state]) => state === 'up_for_reschedule')).toBe(true);
    expect(checks.at(-1)).toEqual(['success', null]);
    const instances = Object.fromEntries((await platform.taskInstances(waiting)).map((ti) => [ti.taskId, ti.returnValue]));
    expect(instances.use).toBe('found rescheduling');
    // Reschedules are not retries: with retries 0, every check still got its try.
    const sensorInstance = await platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: waiting, taskId: 'wait' } });
    expect(sensorInstance.maxTries).toBe(checks.length);
  });

  it('in poke mode checks again within one try until the condition holds', async () => {
    const gate = path.join(gates, 'poking');
    const runId = await platform.trigger('poking', { gate });
    await new Promise((r) => setTimeout(r, 300));
    await fs.writeFile(gate, '');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await tries(runId, 'wait')).toEqual([['success', null]]);
    const logs = await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstance: { dagRunId: runId, taskId: 'wait' } } } });
    expect(logs.filter((l) => l.message.startsWith('not yet; next check in')).length).toBeGreaterThan(1);
  });

  it('fails without retry once its timeout since the first check has passed', async () => {
    const runId = await platform.trigger('timing_out');
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(await tries(runId, 'never')).toEqual([['failed', 'SensorTimeout']]);
  });

  it('with softFail, ends skipped instead', async () => {
    const runId = await platform.trigger('soft');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.state]))).toEqual({ never: 'skipped', use: 'skipped' });
  });

  it('in reschedule mode times out across reschedules too', async () => {
    const runId = await platform.trigger('rescheduling_out');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const checks = await tries(runId, 'never');
    expect(checks[0]).toEqual(['up_for_reschedule', null]);
    expect(checks.at(-1)).toEqual(['failed', 'SensorTimeout']);
  });

  it('refuses at deploy a sensor whose interval or timeout is not a positive duration', async () => {
    const bad = `import { dag, sensor } from '@updraft/sdk';\nconst s = sensor({ id: 's', interval: 0, timeout: 'soon' as never }, () => true);\nexport default dag({ id: 'bad_sensor' }, () => { s(); });`;
    const { importErrors } = await platform.deploy(await dagFolder({ 'bad_sensor.ts': bad }));
    expect(importErrors).toHaveLength(1);
    expect(importErrors[0]!.message).toContain('DAG "bad_sensor": task "s": kind.interval: must be more than 0');
    expect(importErrors[0]!.message).toContain('"soon" is not a duration');
  });
});
