import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './platform.js';

export const UPDRAFT_BIN = path.join(REPO_ROOT, 'server/bin/updraft.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `updraft <args>` as a user would, from the repository root (an env value of undefined unsets it). */
export function updraft(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CliResult> {
  const merged = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete merged[key];
  return runCommand(process.execPath, [UPDRAFT_BIN, ...args], { cwd: REPO_ROOT, env: merged, timeoutMs, name: `updraft ${args.join(' ')}` });
}

/** Runs a command to its end and collects its output; fails if it takes over `timeoutMs` (then it is SIGKILLed). */
export function runCommand(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; name?: string }): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name ?? `${command} ${args.join(' ')}`} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
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

/** A long-running `updraft` process (start, server) that has said it is up. */
export interface RunningUpdraft {
  /** The GraphQL URL it announced. */
  url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGINT, then its exit code (null if a signal killed it). */
  stop(): Promise<number | null>;
}

/**
 * Runs `updraft <args>` from the repository root until its output matches `ready`, whose first
 * group is the GraphQL URL; fails if it exits or takes over 90 s first.
 */
export async function spawnUntilUp(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<RunningUpdraft> {
  const child: ChildProcess = spawn(process.execPath, [UPDRAFT_BIN, ...args], { cwd: REPO_ROOT, env });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`updraft ${args[0]} did not come up:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`updraft ${args[0]} exited with ${code}:\n${output}`)));
  });
  return {
    url,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
}
