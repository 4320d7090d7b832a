import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApi } from '../server/src/api/server.js';
import { lastLine, UPDRAFT_BIN, updraft } from './support/cli.js';
import { createTestPlatform, dagFolder, REPO_ROOT, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

describe('updraft CLI against a database', () => {
  let platform: TestPlatform;
  let env: Record<string, string>;
  let failingDir: string;
  beforeAll(async () => {
    platform = await createTestPlatform();
    env = { DATABASE_URL: platform.db.url, UPDRAFT_HOME: path.join(TEST_SCRATCH, 'cli-home') };
    // A deploy is the whole of its source: deployed as the examples' source (below), this
    // folder keeps hello_world and adds failing DAGs.
    failingDir = await dagFolder({
      'hello_world.ts': await fs.readFile(path.join(REPO_ROOT, 'examples/dags/hello_world.ts'), 'utf8'),
      'failing.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'always_fails' }, () => { task('boom', () => { throw new Error('boom'); })(); });`,
      'leaky.ts': `import { dag, task } from '@updraft/sdk';\nconst leak = task('leak', () => { void Promise.reject(new Error('nobody handles me')); return 1; });\nconst next = task('next', (n: number) => n + 1);\nexport default dag({ id: 'leaky' }, () => { next(leak()); });`,
      'cycle.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'loop' }, () => { task('x', () => 1)().after('y'); task('y', () => 1)().after('x'); });`,
    });
  });
  afterAll(() => platform.close());

  it('deploys a folder and lists its DAGs', async () => {
    const deploy = await updraft(['deploy', 'examples/dags'], env);
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain('✓ hello_world (hello_world.ts) version 1');
    const list = await updraft(['dags', 'list'], env);
    expect(list.stdout).toMatch(/hello_world\s+hello_world\.ts\s+-\s+active\s+3/);
  });

  it('dags test runs the examples: branching, and a mapped task with one line per instance', async () => {
    const branching = await updraft(['dags', 'test', 'branching'], env);
    expect(branching.stdout).toMatch(/^pick_path +success +\d+\.\d\d s \(try 1\)$/m);
    expect(branching.stdout).toMatch(/^bulk_ship +skipped$/m);
    expect(lastLine(branching.stdout)).toBe('success');
    expect(branching.code).toBe(0);
    const mapped = await updraft(['dags', 'test', 'mapping_fanout', '--conf', '{"count": 3}'], env);
    for (const i of [0, 1, 2]) expect(mapped.stdout).toMatch(new RegExp(`^echo\\[${i}\\] +success +\\d+\\.\\d\\d s \\(try 1\\)$`, 'm'));
    expect(mapped.stdout).toMatch(/^sum +success/m);
    expect(lastLine(mapped.stdout)).toBe('success');
  });

  it('deploy names the tasks of a cycle and exits non-zero', async () => {
    const deploy = await updraft(['deploy', failingDir, '--source', 'examples/dags'], env);
    expect(deploy.code).toBe(1);
    expect(deploy.stdout).toMatch(/✗ cycle\.ts\n\s+cycle\.ts: DAG "loop": cycle between tasks (x -> y -> x|y -> x -> y)/);
    expect(deploy.stdout).toContain('✓ always_fails (failing.ts) version 1');
    expect(deploy.stdout).toContain('✓ hello_world (hello_world.ts)');
  });

  it('trigger --wait runs a worker when none is up, prints success and exits 0', async () => {
    const result = await updraft(['dags', 'trigger', 'hello_world', '--wait'], env);
    expect(result.stderr).toContain('No worker is running');
    expect(lastLine(result.stdout)).toBe('success');
    expect(result.code).toBe(0);
  });

  it('trigger --wait exits non-zero when the run fails', async () => {
    const result = await updraft(['dags', 'trigger', 'always_fails', '--wait'], env);
    expect(lastLine(result.stdout)).toBe('failed');
    expect(result.code).toBe(1);
  });

  it('a task leaking a rejected promise does not take the worker down; the rejection is reported', async () => {
    const result = await updraft(['dags', 'trigger', 'leaky', '--wait'], env);
    expect(`${result.stdout}${result.stderr}`).toContain('unhandled promise rejection in task code: Error: nobody handles me');
    expect(lastLine(result.stdout)).toBe('success');
    expect(result.code).toBe(0);
  });

  it('dags test runs one run in this process, printing each task as it ends, and exits 1 unless it succeeded', async () => {
    const ok = await updraft(['dags', 'test', 'hello_world'], env);
    expect(ok.stdout).toMatch(/^make_hi +success +\d+\.\d\d s \(try 1\)$/m);
    expect(ok.stdout).toMatch(/^say_hi +success/m);
    expect(lastLine(ok.stdout)).toBe('success');
    expect(ok.code).toBe(0);
    const failing = await updraft(['dags', 'test', 'always_fails'], env);
    expect(failing.stdout).toMatch(/^boom +failed/m);
    expect(lastLine(failing.stdout)).toBe('failed');
    expect(failing.code).toBe(1);
    const unknown = await updraft(['dags', 'test', 'nope'], env);
    expect(unknown.stderr).toContain('updraft: DAG "nope" does not exist');
    expect(unknown.code).toBe(1);
  });

  it('explains bad input', async () => {
    const unknown = await updraft(['dags', 'trigger', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('updraft: DAG "nope" does not exist');
    const conf = await updraft(['dags', 'trigger', 'hello_world', '--conf', '{oops'], env);
    expect(conf.code).toBe(1);
    expect(conf.stderr).toContain('--conf is not valid JSON');
    const folder = await updraft(['deploy', 'no/such/folder'], env);
    expect(folder.code).toBe(1);
    expect(folder.stderr).toMatch(/updraft: DAG folder \S*no\/such\/folder does not exist or is not a folder/);
  });

  it('deploy refuses a DAG id that another deploy source owns, and --takeover moves it', async () => {
    const owned = (value: string) => `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'cli_owned' }, () => { task('which', () => '${value}')(); });`;
    const ownerOf = async () => (await platform.db.prisma.dag.findUniqueOrThrow({ where: { id: 'cli_owned' } })).source;
    const first = await dagFolder({ 'owned.ts': owned('first') });
    const second = await dagFolder({ 'owned.ts': owned('second') });
    expect((await updraft(['deploy', first, '--source', 'cli/first'], env)).code).toBe(0);

    const refused = await updraft(['deploy', second, '--source', 'cli/second'], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      '✗ owned.ts\n      owned.ts: DAG "cli_owned" belongs to deploy source "cli/first" (file owned.ts); deploy it from there, retire it there first, or pass --takeover to move it to "cli/second"',
    );
    expect(await ownerOf()).toBe('cli/first');

    const moved = await updraft(['deploy', second, '--source', 'cli/second', '--takeover'], env);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('✓ cli_owned (owned.ts) version 2 (new)');
    expect(await ownerOf()).toBe('cli/second');
  });

  it('dags backfill creates a backfill run per interval of the range and explains bad dates', { timeout: 90_000 }, async () => {
    const dir = await dagFolder({
      'berlin.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'cli_berlin', schedule: '@daily', timezone: 'Europe/Berlin' }, () => { task('t', () => 1)(); });`,
    });
    expect((await updraft(['deploy', dir, '--source', 'cli/berlin'], env)).code).toBe(0);
    const result = await updraft(['dags', 'backfill', 'cli_berlin', '--from', '2026-01-01', '--to', '2026-01-05T00:00:00Z', '--max-active-runs', '2'], env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Backfill \d+ of cli_berlin: 4 run\(s\) created/); // Berlin midnights 2026-01-01T23:00Z … 2026-01-04T23:00Z
    const runs = await platform.db.prisma.dagRun.findMany({ where: { dagId: 'cli_berlin', runType: 'backfill' }, orderBy: { logicalDate: 'asc' } });
    expect(runs.map((r) => r.logicalDate.toISOString())).toEqual(['2026-01-01T23:00:00.000Z', '2026-01-02T23:00:00.000Z', '2026-01-03T23:00:00.000Z', '2026-01-04T23:00:00.000Z']);
    const bad = await updraft(['dags', 'backfill', 'cli_berlin', '--from', 'last tuesday', '--to', '2026-01-05'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("option '--from <date>' argument 'last tuesday' is invalid. must be an ISO 8601 date");
  });

  it('`updraft scheduler` creates scheduled runs until stopped', async () => {
    const dir = await dagFolder({
      'ticking.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'ticking', schedule: '* * * * * *' }, () => { task('t', () => 1)(); });`,
    });
    expect((await updraft(['deploy', dir], env)).code).toBe(0);
    const child = spawn(process.execPath, [UPDRAFT_BIN, 'scheduler'], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 30_000;
    while ((await platform.db.prisma.dagRun.count({ where: { dagId: 'ticking', runType: 'scheduled' } })) === 0) {
      if (Date.now() > deadline) throw new Error('no scheduled run within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('--url talks to a running API instead of the local database', async () => {
    await platform.startWorker();
    const server = await serveApi({ prisma: platform.db.prisma, pool: platform.pool }, { host: '127.0.0.1', port: 0 });
    const { port } = server.address() as { port: number };
    try {
      const result = await updraft(['dags', 'trigger', 'hello_world', '--wait', '--url', `http://127.0.0.1:${port}/graphql`], { DATABASE_URL: 'postgres://nowhere.invalid/none' });
      expect(lastLine(result.stdout)).toBe('success');
      expect(result.code).toBe(0);
      const unreachable = await updraft(['dags', 'list', '--url', 'http://127.0.0.1:1/graphql'], {});
      expect(unreachable.stderr).toContain('Could not reach the Updraft API at http://127.0.0.1:1/graphql');
    } finally {
      server.close();
    }
  });
});
