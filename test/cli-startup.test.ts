// `updraft --help` and argument errors answer without loading the database driver, the API,
// esbuild or Prisma: the CLI imports a command's modules when the command runs (cli/main.ts).
// Shown with a module resolution hook that refuses those packages, not with a timing.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UPDRAFT_BIN } from './support/cli.js';
import { REPO_ROOT } from './support/paths.js';

const HEAVY = /^(graphql|pg|esbuild|graphile-worker|graphql-yoga|@prisma\/|@pothos\/)/;
const HOOKS = `export async function resolve(specifier, context, next) {
  if (${HEAVY}.test(specifier)) throw new Error('heavy module loaded: ' + specifier);
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

function updraftRefusingHeavyModules(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, UPDRAFT_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('updraft CLI start-up', () => {
  it('prints its help and explains bad arguments without loading heavy modules', async () => {
    const help = await updraftRefusingHeavyModules(['--help']);
    expect(help.output).toContain('Usage: updraft [options] [command]');
    expect(help.code).toBe(0);
    const tokenHelp = await updraftRefusingHeavyModules(['tokens', 'create', '--help']);
    expect(tokenHelp.output).toContain('what the token may do: viewer, user, op, admin');
    const bad = await updraftRefusingHeavyModules(['worker', '--log-max-bytes', 'lots']);
    expect(bad.output).toContain("option '--log-max-bytes <size>' argument 'lots' is invalid. must be a size such as \"5MB\" or \"64KB\"");
    expect(bad.output).not.toContain('heavy module loaded');
    expect(bad.code).toBe(1);
  });

  it('loads them when a command runs (the hook does refuse them)', async () => {
    const deploy = await updraftRefusingHeavyModules(['deploy', 'examples/dags']);
    expect(deploy.output).toMatch(/heavy module loaded: (graphql|pg|esbuild|graphile-worker|graphql-yoga|@prisma\/|@pothos\/)/);
    expect(deploy.code).toBe(1);
  });
});
