// The `updraft` processes bench/chaos.ts runs (scheduler, workers, one-shot commands), with
// their output in log files, and the embedded postmaster of its temporary home.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const UPDRAFT_BIN = path.join(REPO_ROOT, 'server/bin/updraft.js');

/** Every process this harness started and has not seen exit: SIGKILLed if the harness exits first. */
const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of alive) {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A long-lived `updraft` process whose stdout and stderr go to `logFile`. */
export interface UpdraftProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Set once it exited. */
  exit: ExitStatus | undefined;
  /** Set when stopProcess() asked it to stop. */
  stopRequested: boolean;
  exited: Promise<ExitStatus>;
}

export function spawnUpdraft(name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): UpdraftProcess {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [UPDRAFT_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start updraft ${args.join(' ')}`);
  alive.add(child);
  const proc: UpdraftProcess = {
    name,
    pid: child.pid,
    logFile,
    child,
    exit: undefined,
    stopRequested: false,
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        alive.delete(child);
        proc.exit = { code, signal, at: Date.now() };
        resolve(proc.exit);
      });
    }),
  };
  return proc;
}

/** SIGTERM (a graceful stop), then SIGKILL after `graceMs`. */
export async function stopProcess(proc: UpdraftProcess, graceMs: number): Promise<void> {
  if (proc.exit) return;
  proc.stopRequested = true;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Waits until the process's log has a line matching `pattern`; returns the match. Fails if it exits first. */
export async function waitForLog(proc: UpdraftProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await fs.readFile(proc.logFile, 'utf8').catch(() => '');
    const match = pattern.exec(text);
    if (match) return match;
    if (proc.exit) throw new Error(`${proc.name} (pid ${proc.pid}) exited (${proc.exit.signal ?? `code ${proc.exit.code}`}) before printing ${pattern}:\n${tail(text)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} (pid ${proc.pid}) did not print ${pattern} within ${timeoutMs} ms:\n${tail(text)}`);
    await sleep(100);
  }
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a one-shot `updraft` command (SIGKILLed after `timeoutMs`). Resolves when it exited,
 * or, with `until`, as soon as its stdout matches (`exited` then tells when it is gone).
 */
export function runUpdraft(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  until?: RegExp,
): Promise<CommandResult & { match: RegExpMatchArray | null; exited: Promise<CommandResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [UPDRAFT_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    alive.add(child);
    let stdout = '';
    let stderr = '';
    let settled = false;
    let onClose: (result: CommandResult) => void = () => {};
    const exited = new Promise<CommandResult>((r) => (onClose = r));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      if (!settled) reject(new Error(`updraft ${args[0]} did not finish within ${timeoutMs} ms\n${tail(stdout)}\n${tail(stderr)}`));
      settled = true;
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = until?.exec(stdout);
      if (match && !settled) {
        settled = true;
        resolve({ code: null, stdout, stderr, match, exited });
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', (e) => {
      clearTimeout(timer);
      if (!settled) reject(e);
      settled = true;
    });
    child.once('close', (code) => {
      alive.delete(child);
      clearTimeout(timer);
      onClose({ code, stdout, stderr });
      if (!settled) resolve({ code, stdout, stderr, match: until?.exec(stdout) ?? null, exited });
      settled = true;
    });
  });
}

export interface PostgresInfo {
  pid: number;
  port: number;
  url: string;
}

/** `<home>/postgres.json`, written by the process that owns the embedded server. */
export function readPostgresInfo(home: string): PostgresInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path.join(home, 'postgres.json'), 'utf8')) as Partial<PostgresInfo>;
    if (typeof info.pid === 'number' && typeof info.url === 'string') return { pid: info.pid, port: info.port ?? Number(new URL(info.url).port), url: info.url };
  } catch {
    // missing or being rewritten
  }
  return undefined;
}

/**
 * Stops a postmaster of `dataDir` still running after its owner exited (the owner was
 * SIGKILLed, or a restarted postmaster outlived it): SIGQUIT, then SIGKILL. Only a process
 * whose command line names `dataDir` is signalled, never a recycled pid.
 */
export async function stopStrayPostmaster(home: string): Promise<void> {
  const dataDir = path.join(home, 'pgdata');
  const pids = new Set<number>();
  try {
    const fromPidFile = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
    if (Number.isInteger(fromPidFile)) pids.add(fromPidFile);
  } catch {
    // no postmaster.pid: not running (or stopped cleanly)
  }
  const info = readPostgresInfo(home);
  if (info) pids.add(info.pid);
  for (const pid of pids) {
    if (!isPostmasterOf(pid, dataDir)) continue;
    console.error(`[chaos] stopping the postmaster (pid ${pid}) left running`);
    for (const signal of ['SIGQUIT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        break;
      }
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && isPostmasterOf(pid, dataDir)) await sleep(100);
      if (!isPostmasterOf(pid, dataDir)) break;
    }
  }
}

function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir);
  } catch {
    return false;
  }
}

export interface ProcessRef {
  pid: number;
  cmdline: string;
}

/** The live children of `pid` (from /proc; empty where there is none). */
export function childProcesses(pid: number): ProcessRef[] {
  const found: ProcessRef[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return found;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[1]) === pid) found.push({ pid: Number(entry), cmdline: cmdlineOf(Number(entry)) ?? '' });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** True while the process `ref` names still runs (the same command line: not a recycled pid). */
export function stillRunning(ref: ProcessRef): boolean {
  try {
    const stat = readFileSync(`/proc/${ref.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
  } catch {
    return false;
  }
  return cmdlineOf(ref.pid) === ref.cmdline;
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
