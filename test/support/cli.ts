import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './platform.js';

export const UPDRAFT_BIN = path.join(REPO_ROOT, 'server/bin/updraft.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `updraft <args>` as a user would, from the repository root. */
export function updraft(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const merged = { ...process.env, ...env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete merged[key];
    const child = spawn(process.execPath, [UPDRAFT_BIN, ...args], { cwd: REPO_ROOT, env: merged });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`updraft ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line a command printed: `dags trigger --wait` ends with the run's state. */
export function lastLine(output: string): string | undefined {
  return output.trim().split('\n').at(-1);
}
