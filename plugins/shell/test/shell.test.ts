// The shell operator in real DAG runs: conf that tries to inject shell code stays one plain
// argument, output reaches the log while the command runs, exit codes fail the task, a timeout
// kills the whole process group, huge output stays bounded, bad params name the task and field.
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, TEST_SCRATCH, type TestPlatform } from '../../../test/support/platform.js';
import { returnValues, storedTries } from '../../../test/support/tries.js';

const DAGS = {
  'shell_dags.ts': `
import { dag, task } from '@updraft/sdk';
import { shell } from '@updraft/plugin-shell';

export const echo = dag({ id: 'echo' }, () => {
  shell('argv')({ command: ['printf', '%s', '{{ conf.name }}'] });
  shell('script')({ command: 'printf "%s|%s" {{ conf.name }} "$1"', args: ['{{ conf.name }}'] });
  shell('env_cwd')({ command: ['sh', '-c', 'echo "$GREETING in $(basename "$(pwd)")"'], env: { GREETING: 'hello {{ conf.name }}' }, cwd: '{{ conf.dir }}' });
});

export const streaming = dag({ id: 'streaming' }, () => {
  shell('slow')({ command: 'echo first; echo oops >&2; sleep 3; echo second' });
});

export const failing = dag({ id: 'failing' }, () => {
  shell({ id: 'exit3', retries: 0 })({ command: 'echo about to fail; echo bad thing >&2; exit 3' });
  shell('skip')({ command: ['sh', '-c', 'exit 99'] });
  shell('missing')({ command: ['/no/such/program'] });
});

export const hanging = dag({ id: 'hanging' }, () => {
  shell('hang')({ command: 'sleep 300 & echo $! > "$1"; sleep 300', args: ['{{ conf.pidFile }}'], timeout: '1s', killGrace: '500ms' });
});

export const huge = dag({ id: 'huge' }, () => {
  shell('flood')({ command: 'head -c 30000000 /dev/zero | tr "\\\\0" x; echo; seq 1 200000; echo done', maxLogBytes: 100000 });
  shell('too_much')({ command: 'seq 1 100000', output: 'stdout', maxOutputBytes: 1000 });
  shell('json')({ command: ['echo', '{"rows": 3, "ok": true}'], output: 'json' });
});

const bad = task('bad_params', () => ({ command: 42 }));
export const badAtRunTime = dag({ id: 'bad_at_run_time' }, () => {
  shell('from_upstream')(bad() as never);
});
`,
};

let platform: TestPlatform & { dagsDir: string };
beforeAll(async () => {
  platform = await platformRunning(DAGS, 4);
});
afterAll(() => platform?.close());

describe('@updraft/plugin-shell', () => {
  it('passes conf holding shell code as one plain argument, in argv and in a script alike', async () => {
    const sentinel = path.join(TEST_SCRATCH, `pwned-${process.pid}`);
    const name = `x; touch ${sentinel}; echo $(touch ${sentinel}) \`touch ${sentinel}\` ' " ; rm -rf /`;
    const dir = path.join(TEST_SCRATCH, 'shell-cwd');
    await fs.mkdir(dir, { recursive: true });
    const runId = await platform.trigger('echo', { name, dir });
    expect(await platform.waitForRun(runId)).toBe('success');
    const values = await returnValues(platform, runId);
    expect(values.argv).toBe(name);
    expect(values.script).toBe(`${name}|${name}`);
    expect(values.env_cwd).toBe(`hello ${name} in shell-cwd`);
    expect(existsSync(sentinel)).toBe(false);
  });

  it('streams stdout and stderr into the task log while the command runs', async () => {
    const runId = await platform.trigger('streaming');
    const deadline = Date.now() + 10_000;
    let seenWhileRunning = false;
    while (Date.now() < deadline) {
      const [first] = await storedTries(platform, runId, 'slow');
      if (first?.lines.some((l) => l.message === 'first')) {
        seenWhileRunning = first.state === 'running' && !first.lines.some((l) => l.message === 'second');
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seenWhileRunning).toBe(true);
    expect(await platform.waitForRun(runId)).toBe('success');
    const [done] = await storedTries(platform, runId, 'slow');
    const lines = done!.lines.filter((l) => (l.fields as { stream?: string } | null)?.stream);
    expect(lines.map((l) => [l.message, (l.fields as { stream: string }).stream])).toEqual([
      ['first', 'stdout'],
      ['oops', 'stderr'],
      ['second', 'stdout'],
    ]);
  });

  it('fails the task with the exit code, skips on exit 99, and says when the program does not exist', async () => {
    const runId = await platform.trigger('failing');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const [exit3] = await storedTries(platform, runId, 'exit3');
    expect(exit3!.error).toMatchObject({ name: 'CommandFailed', message: 'task "exit3": the shell script exited with code 3 (last line: about to fail)' });
    expect(exit3!.lines.map((l) => l.message)).toContain('bad thing');
    const states = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.state]));
    expect(states).toMatchObject({ exit3: 'failed', skip: 'skipped', missing: 'failed' });
    const [missing] = await storedTries(platform, runId, 'missing');
    expect(missing!.error!.message).toMatch(/^task "missing": "\/no\/such\/program" could not be started: spawn \/no\/such\/program ENOENT/);
  });

  it('kills the whole process group on timeout, background jobs included', async () => {
    const pidFile = path.join(TEST_SCRATCH, `hang-${process.pid}.pid`);
    const started = Date.now();
    const runId = await platform.trigger('hanging', { pidFile });
    expect(await platform.waitForRun(runId)).toBe('failed');
    expect(Date.now() - started).toBeLessThan(10_000);
    const [hang] = await storedTries(platform, runId, 'hang');
    expect(hang!.error).toMatchObject({ name: 'CommandTimedOut' });
    const pid = Number(await fs.readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    // Killed: gone, or a zombie waiting for init to reap it.
    const deadline = Date.now() + 3_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });

  it('bounds what huge output costs: the log up to maxLogBytes, XCom up to maxOutputBytes', async () => {
    const runId = await platform.trigger('huge');
    expect(await platform.waitForRun(runId, 60_000)).toBe('failed');
    const values = await returnValues(platform, runId);
    expect(values.flood).toBe('done');
    expect(values.json).toEqual({ rows: 3, ok: true });
    const [flood] = await storedTries(platform, runId, 'flood');
    const logged = flood!.lines.reduce((n, l) => n + l.message.length, 0);
    expect(logged).toBeLessThan(120_000);
    expect(flood!.lines.map((l) => l.message).find((m) => m.includes('not logged'))).toMatch(/bytes of output not logged: past maxLogBytes \(100000\)/);
    const [tooMuch] = await storedTries(platform, runId, 'too_much');
    expect(tooMuch!.error!.message).toBe('task "too_much": stdout is longer than maxOutputBytes (1000); write it to a file, or raise maxOutputBytes');
  });

  it('refuses bad params: at deploy for literals, at run time (without retry) for an upstream’s, naming the task and the field', async () => {
    const runId = await platform.trigger('bad_at_run_time');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const [t] = await storedTries(platform, runId, 'from_upstream');
    expect(t!.error!.name).toBe('NonRetryableError');
    expect(t!.error!.message).toMatch(/^Invalid params of task "from_upstream" \(operator shell\): command: /);

    const dir = path.join(platform.dagsDir, '..', `bad-${process.pid}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'bad.ts'),
      `import { dag } from '@updraft/sdk';\nimport { shell } from '@updraft/plugin-shell';\nexport default dag({ id: 'bad_literal' }, () => { shell('list')({ command: ['ls'], cwd: '', timeout: 'soon' } as never); });\n`,
    );
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors).toHaveLength(1);
    expect(importErrors[0]!.message).toContain('Invalid params of task "list" (operator shell): cwd: ');
    expect(importErrors[0]!.message).toContain('timeout: ');
  });
});

/** Whether `pid` is a process that still runs (a zombie has ended). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
