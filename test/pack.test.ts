// The packages as a user outside the monorepo gets them: `npm pack` @updraft/sdk and
// @updraft/plugin-shell, install the tarballs into an empty project (outside the repository, so
// nothing resolves to the workspace), type-check a DAG that uses them with strict settings against
// the published .d.ts, then deploy it and run it with the `updraft` CLI.
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLine, runCommand, UPDRAFT_BIN, type CliResult } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { REPO_ROOT } from './support/paths.js';

const require = createRequire(import.meta.url);
/** The version the monorepo has installed, so that an offline install finds it in npm's cache. */
const installed = (name: string) => (require(path.join(REPO_ROOT, 'node_modules', name, 'package.json')) as { version: string }).version;

/** A command in `cwd`, with the environment plus `env`. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return runCommand(command, args, { cwd, env: { ...process.env, ...env }, timeoutMs });
}

const DAG = `import { dag, task } from '@updraft/sdk';
import { shell } from '@updraft/plugin-shell';
import { z } from 'zod';

const greet = shell({ id: 'greet' });
const shout = task('shout', (line: unknown) => String(line).toUpperCase());

export default dag({ id: 'packed_shell', params: z.object({ name: z.string().default('world') }) }, () => {
  shout(greet({ command: ['echo', 'hello {{ params.name }}'] }));
});
`;

/** Type-checked, never run: the published types are the real ones, not \`any\` (tsc fails unless these are errors). */
const TYPE_CHECKS = `import { dag } from '@updraft/sdk';
import { shell } from '@updraft/plugin-shell';

export function wrong(): void {
  dag({ id: 'wrong' }, () => {
    // @ts-expect-error: a command is a string or an argv array
    shell({ id: 'wrong' })({ command: 42 });
  });
  // @ts-expect-error: a DAG id is a string
  dag({ id: 7 }, () => {});
}
`;

describe('the packed @updraft/sdk and @updraft/plugin-shell in a project of their own', () => {
  let project: string;
  let db: TestDatabase;
  let packed: Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  beforeAll(async () => {
    project = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-pack-'));
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    if (project) await fs.rm(project, { recursive: true, force: true });
  });

  it('packs dist/ with types and the sources, without tests or build state', async () => {
    // prepack brings each package's dist/ up to date (an incremental tsc -b).
    const pack = await run('npm', ['pack', '--json', '--pack-destination', project, '-w', '@updraft/sdk', '-w', '@updraft/plugin-shell'], REPO_ROOT);
    expect(pack.code, pack.stderr).toBe(0);
    packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as typeof packed;
    expect(packed.map((p) => p.name).sort()).toEqual(['@updraft/plugin-shell', '@updraft/sdk']);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts']));
      expect(files.filter((f) => /\.test(-d)?\.ts$|__tests__|tsbuildinfo|tsconfig/.test(f))).toEqual([]);
    }
  });

  it('packs @updraft/server with the compiled CLI, and the migrations and dashboard it needs outside the repository', async () => {
    const pack = await run('npm', ['pack', '--dry-run', '--json', '-w', '@updraft/server'], REPO_ROOT, {}, 180_000);
    expect(pack.code, pack.stderr).toBe(0);
    const [server] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as typeof packed;
    const files = server!.files.map((f) => f.path);
    const migrations = (await fs.readdir(path.join(REPO_ROOT, 'prisma/migrations'), { withFileTypes: true })).filter((e) => e.isDirectory());
    expect(migrations.length).toBeGreaterThan(10);
    expect(files).toEqual(
      expect.arrayContaining(['bin/updraft.js', 'dist/cli/main.js', 'dist/index.d.ts', 'assets/web/index.html', ...migrations.map((m) => `assets/migrations/${m.name}/migration.sql`)]),
    );
    expect(files.filter((f) => /\.test(-d)?\.ts$|__tests__|tsbuildinfo/.test(f))).toEqual([]);
  }, 240_000);

  it('installs into an empty project, type-checks a DAG strictly, deploys and runs it', async () => {
    expect(packed, 'the pack test above failed').toBeDefined();
    await fs.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'my-dags', private: true, type: 'module' }));
    const specs = [
      ...packed.map((p) => path.join(project, p.filename)),
      `zod@${installed('zod')}`,
      `typescript@${installed('typescript')}`,
      `@types/node@${installed('@types/node')}`,
    ];
    const flags = ['--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'];
    // Offline from npm's cache (the monorepo's install filled it); the registry only if that misses.
    let install = await run('npm', ['install', '--offline', ...flags, ...specs], project);
    if (install.code !== 0) install = await run('npm', ['install', '--prefer-offline', ...flags, ...specs], project);
    expect(install.code, install.stderr).toBe(0);
    // A real install, not a link into the workspace.
    expect((await fs.lstat(path.join(project, 'node_modules/@updraft/sdk'))).isSymbolicLink()).toBe(false);

    await fs.mkdir(path.join(project, 'dags'));
    await fs.writeFile(path.join(project, 'dags/packed.ts'), DAG);
    await fs.mkdir(path.join(project, 'checks'));
    await fs.writeFile(path.join(project, 'checks/types.ts'), TYPE_CHECKS);
    await fs.writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, types: ['node'] },
        include: ['dags', 'checks'],
      }),
    );
    const tsc = await run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);

    const env = { DATABASE_URL: db.url, UPDRAFT_HOME: path.join(project, '.updraft') };
    const deploy = await run(process.execPath, [UPDRAFT_BIN, 'deploy', 'dags'], project, env);
    expect(deploy.stdout, deploy.stderr).toContain('✓ packed_shell (packed.ts) version 1');
    expect(deploy.code).toBe(0);
    const test = await run(process.execPath, [UPDRAFT_BIN, 'dags', 'test', 'packed_shell', '--conf', '{"name": "packed"}'], project, env);
    expect(test.stdout, test.stderr).toMatch(/\[packed_shell\.greet#1\] info: hello packed/);
    expect(test.stdout).toMatch(/^shout +success/m);
    expect(lastLine(test.stdout)).toBe('success');
    const shouted = await db.prisma.xCom.findFirst({ where: { key: 'return_value', taskInstance: { taskId: 'shout' } } });
    expect(shouted?.value).toBe('HELLO PACKED');
  }, 120_000);
});
