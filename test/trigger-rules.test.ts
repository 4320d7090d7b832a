// Trigger rules and skips, end to end: the rule table (server/src/executor/trigger-rules.ts,
// unit-tested there) as the executor applies it when upstream task instances end.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dagFolder, platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'skips.ts': `
import { dag, SkipError, task } from '@updraft/sdk';
const check = task({ id: 'check', retries: 3, retryDelay: 0 }, () => { throw new SkipError('nothing new'); });
const after = task('after', () => 'ran');
const anyway = task({ id: 'anyway', triggerRule: 'none_failed' }, () => 'ran anyway');
export default dag({ id: 'skips' }, () => {
  const c = check();
  after().after(c);
  anyway().after(c);
});
`,
  'first_wins.ts': `
import { existsSync } from 'node:fs';
import { context, dag, task } from '@updraft/sdk';
const fast = task('fast', () => 'fast');
const slow = task('slow', async () => {
  while (!existsSync(String(context().conf.gate))) await new Promise((r) => setTimeout(r, 20));
  return 'slow';
});
const first = task({ id: 'first', triggerRule: 'one_success' }, () => 'first');
export default dag({ id: 'first_wins' }, () => { first().after(fast(), slow()); });
`,
  'cleanup.ts': `
import { dag, NonRetryableError, task } from '@updraft/sdk';
const work = task('work', () => { throw new NonRetryableError('broken'); });
const cleanup = task({ id: 'cleanup', triggerRule: 'all_done' }, () => 'cleaned');
const alert = task({ id: 'alert', triggerRule: 'one_failed' }, () => 'alerted');
const report = task({ id: 'report', triggerRule: 'all_success' }, () => 'reported');
const build = () => {
  const w = work();
  cleanup().after(w);
  alert().after(w);
  report().after(w);
};
export default dag({ id: 'cleanup_hides' }, () => { const w = work(); cleanup().after(w); });
export const strict = dag({ id: 'cleanup_strict', failRunOnAnyFailure: true }, () => { const w = work(); cleanup().after(w); });
export const fanned = dag({ id: 'cleanup_fanned' }, build);
`,
  'always.ts': `
import { existsSync } from 'node:fs';
import { context, dag, task } from '@updraft/sdk';
const wait = task('wait', async () => {
  while (!existsSync(String(context().conf.gate))) await new Promise((r) => setTimeout(r, 20));
});
const now = task({ id: 'now', triggerRule: 'always' }, () => 'now');
export default dag({ id: 'always_now' }, () => { now().after(wait()); });
`,
};

describe('trigger rules and skips, end to end', () => {
  let platform: TestPlatform & { dagsDir: string };
  let gates: string;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 4);
    gates = path.join(platform.dagsDir, 'gates');
    await fs.mkdir(gates);
  });
  afterAll(() => platform.close());

  async function states(runId: number) {
    return Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, [ti.state, ti.tryNumber]]));
  }

  it('SkipError ends a task skipped without a retry; all_success downstream is skipped, none_failed runs', async () => {
    const runId = await platform.trigger('skips');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ check: ['skipped', 1], after: ['skipped', 0], anyway: ['success', 1] });
    const [tryRow] = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'check' } }, include: { logs: true } });
    expect(tryRow!.state).toBe('skipped');
    expect(tryRow!.logs.map((l) => l.message)).toContain('Skipped: nothing new');
  });

  it('one_success starts as soon as one upstream succeeded, before its slow sibling finished', async () => {
    const gate = path.join(gates, 'first_wins');
    const runId = await platform.trigger('first_wins', { gate });
    const deadline = Date.now() + 20_000;
    while ((await states(runId)).first?.[0] !== 'success') {
      if (Date.now() > deadline) throw new Error(`first never ran: ${JSON.stringify(await states(runId))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await states(runId)).slow).toEqual(['running', 1]);
    await fs.writeFile(gate, '');
    expect(await platform.waitForRun(runId)).toBe('success');
  });

  it('an all_done leaf hides a failure (Airflow leaf rule) unless failRunOnAnyFailure is set', async () => {
    const hides = await platform.trigger('cleanup_hides');
    expect(await platform.waitForRun(hides)).toBe('success');
    expect(await states(hides)).toEqual({ work: ['failed', 1], cleanup: ['success', 1] });
    const strict = await platform.trigger('cleanup_strict');
    expect(await platform.waitForRun(strict)).toBe('failed');
    expect(await states(strict)).toEqual({ work: ['failed', 1], cleanup: ['success', 1] });
  });

  it('sends one failure down all_done, one_failed and all_success at once', async () => {
    const runId = await platform.trigger('cleanup_fanned');
    expect(await platform.waitForRun(runId)).toBe('failed'); // the all_success leaf is upstream_failed
    expect(await states(runId)).toEqual({ work: ['failed', 1], cleanup: ['success', 1], alert: ['success', 1], report: ['upstream_failed', 0] });
  });

  it('always runs at once, without waiting for its upstream', async () => {
    const gate = path.join(gates, 'always');
    const runId = await platform.trigger('always_now', { gate });
    const deadline = Date.now() + 20_000;
    while ((await states(runId)).now?.[0] !== 'success') {
      if (Date.now() > deadline) throw new Error(`now never ran: ${JSON.stringify(await states(runId))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(existsSync(gate)).toBe(false);
    expect((await states(runId)).wait).toEqual(['running', 1]);
    await fs.writeFile(gate, '');
    expect(await platform.waitForRun(runId)).toBe('success');
    expect(await states(runId)).toEqual({ wait: ['success', 1], now: ['success', 1] });
  });

  it('refuses an unknown trigger rule at deploy, naming the task', async () => {
    const bad = `import { dag, task } from '@updraft/sdk';\nconst t = task({ id: 't', triggerRule: 'sometimes' as never }, () => 1);\nexport default dag({ id: 'bad_rule' }, () => { t(); });`;
    const result = await platform.deploy(await dagFolder({ 'bad_rule.ts': bad }));
    expect(result.importErrors).toEqual([
      { fileName: 'bad_rule.ts', message: expect.stringContaining('bad_rule.ts: DAG "bad_rule": task "t": triggerRule: must be one of all_success, all_failed') },
    ]);
  });
});
