// Supervision of the embedded PostgreSQL of one Updraft home, shared by every process that
// uses it (`updraft start`, standalone workers and schedulers, CLI commands).
//
// Files under the home (besides those of embedded.ts):
//   postgres.json   { pid, port, url, dataDir, ownerPid, ownerStart } of the running server;
//                   ownerPid 0 means nobody supervises it right now
//   clients/<pid>   one per live process using the server ({ pid, start })
//   postgres.lock   held while a process starts, adopts, restarts, hands over or stops it
//
// A process has one session per home, shared by all its resolveDatabase() handles. The
// session is either the server's *owner*, which supervises the postmaster (restarts it on
// the same port when it dies, with backoff) and stops it when it leaves as the last user, or
// a *user*, which checks every few seconds that an owner is running and takes over (adopting
// the running postmaster, or starting it) when none is. An owner that leaves while others
// still use the server leaves it running and clears ownerPid; one of them takes over.
// Processes that were SIGKILLed leave their clients/<pid> behind; a file whose process is
// gone (or whose pid now names a different process) is ignored and removed.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { coerceError } from '../errors.js';
import { acquireHomeLock, acquireHomeLockSync } from './home-lock.js';
import {
  type Postmaster,
  type ProcessId,
  currentProcess,
  isAlive,
  isRunning,
  readPostmasterPidFileSync,
  servesDataDir,
  stopPostmaster,
} from './postgres-process.js';

export interface HomePaths {
  home: string;
  dataDir: string;
  lockFile: string;
  infoFile: string;
  clientsDir: string;
}

export interface RunningServer {
  postmaster: Postmaster;
  url: string;
}

/** How to find and start the server of a home (embedded.ts). Both are called under the home lock. */
export interface ServerControl {
  paths: HomePaths;
  /** A postmaster serving the data directory, recorded or not (waits while it starts up). */
  findRunning(): Promise<RunningServer | undefined>;
  /** Starts the postmaster on `port`, or on the home's port when undefined. */
  start(port: number | undefined, onLog: (line: string) => void): Promise<RunningServer>;
  /** Called with the port of a server this process owns (adopted ones included). */
  remember(port: number): void;
}

export interface Sinks {
  /** PostgreSQL's own log lines, and supervision events. */
  onLog?: ((line: string) => void) | undefined;
  /** The server died, is being restarted, could not be restarted, changed supervisor… */
  onWarning?: ((message: string) => void) | undefined;
}

export interface SessionHandle {
  /** Constant: the server always comes back on the same port. */
  url: string;
  /** True while this process supervises the server (it started or adopted it). */
  readonly owned: boolean;
  /** Idempotent. The server stops when the last process using it stops. */
  stop(): Promise<void>;
}

interface ServerInfo {
  pid: number;
  port: number;
  url: string;
  dataDir: string;
  /** 0: not supervised (its owner handed it over, and a user has not taken it yet). */
  ownerPid: number;
  ownerStart?: string | undefined;
}

/** How often an owner checks that an adopted postmaster (not its child) is alive. */
const OWNER_CHECK_MS = 500;
/** How often a user checks that the owner is alive. */
const USER_CHECK_MS = 2_000;
const MAX_BACKOFF_MS = 30_000;

const sessions = new Map<string, Promise<Session>>();
/** Sessions being closed, so that a new one of the same home waits for that to finish. */
const closing = new Map<string, Promise<void>>();
const open = new Set<Session>();
let exitHookInstalled = false;

/** Joins (or starts, or adopts) the embedded server of a home: see the top of this file. */
export async function joinHome(control: ServerControl, sinks: Sinks): Promise<SessionHandle> {
  const key = control.paths.home;
  for (;;) {
    let pending = sessions.get(key);
    if (!pending) {
      const previous = closing.get(key) ?? Promise.resolve();
      pending = previous.then(() => Session.open(control, sinks));
      sessions.set(key, pending);
      const mine = pending;
      pending.catch(() => {
        if (sessions.get(key) === mine) sessions.delete(key);
      });
    }
    const handle = (await pending).addHandle(sinks);
    if (handle) return handle;
  }
}

class Session {
  role: 'owner' | 'user';
  postmaster: Postmaster | undefined;
  readonly port: number;
  private readonly handles = new Set<Sinks>();
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Serialises checks, restarts, takeovers and closing. */
  private queue: Promise<void> = Promise.resolve();
  private queued = false;
  /** Consecutive failed restarts/takeovers, and when to try next. */
  private failures = 0;
  private retryAt = 0;

  private constructor(
    private readonly control: ServerControl,
    readonly url: string,
    server: { role: 'owner' | 'user'; postmaster?: Postmaster; port: number },
    initialSinks: Sinks,
  ) {
    this.role = server.role;
    this.port = server.port;
    this.handles.add(initialSinks);
    if (server.postmaster) this.watch(server.postmaster);
    open.add(this);
    installExitHook();
    this.schedule();
  }

  static async open(control: ServerControl, sinks: Sinks): Promise<Session> {
    const { paths } = control;
    mkdirSync(paths.clientsDir, { recursive: true });
    const onLog = (line: string) => sinks.onLog?.(line);
    return withLock(paths.lockFile, async () => {
      registerClient(paths);
      try {
        const info = readInfo(paths.infoFile);
        if (info && isAlive(info.pid) && (await servesDataDir(info.url, paths.dataDir))) {
          if (info.ownerPid !== process.pid && ownerRunning(info)) {
            return new Session(control, info.url, { role: 'user', port: info.port }, sinks);
          }
          // Its owner died without stopping it (e.g. SIGKILL): take it over.
          return Session.owning(control, { postmaster: { pid: info.pid, port: info.port }, url: info.url }, sinks);
        }
        rmSync(paths.infoFile, { force: true });
        // Running but not (correctly) recorded (its owner crashed right after starting it), or not running.
        const running = await control.findRunning();
        const server = running ?? (await control.start(undefined, onLog));
        try {
          return Session.owning(control, server, sinks);
        } catch (e) {
          if (!running) await stopPostmaster(server.postmaster);
          throw e;
        }
      } catch (e) {
        unregisterClient(paths);
        throw e;
      }
    });
  }

  private static owning(control: ServerControl, server: RunningServer, sinks: Sinks): Session {
    writeInfo(control.paths.infoFile, ownerInfo(control.paths, server));
    control.remember(server.postmaster.port);
    return new Session(control, server.url, { role: 'owner', port: server.postmaster.port, postmaster: server.postmaster }, sinks);
  }

  /** A new handle, or undefined when the session was closed meanwhile (the caller opens a new one). */
  addHandle(sinks: Sinks): SessionHandle | undefined {
    if (this.closed) return undefined;
    // The handle that opened the session was counted by the constructor.
    if (!this.handles.has(sinks)) this.handles.add(sinks);
    const session = this;
    let stopped: Promise<void> | undefined;
    return {
      url: this.url,
      get owned() {
        return !stopped && session.role === 'owner' && !session.closed;
      },
      stop: () => (stopped ??= this.removeHandle(sinks)),
    };
  }

  private async removeHandle(sinks: Sinks): Promise<void> {
    this.handles.delete(sinks);
    if (this.handles.size > 0 || this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const key = this.control.paths.home;
    sessions.delete(key);
    const done = this.enqueue(() => this.leave()).finally(() => {
      open.delete(this);
      if (closing.get(key) === done) closing.delete(key);
    });
    closing.set(key, done);
    await done;
  }

  /** Leaving for good: hand the server over, or stop it when nobody else uses it. */
  private async leave(): Promise<void> {
    const { paths } = this.control;
    try {
      await withLock(paths.lockFile, async () => {
        unregisterClient(paths);
        const others = liveClients(paths);
        const info = readInfo(paths.infoFile);
        if (this.role === 'owner') {
          const postmaster = this.postmaster;
          this.postmaster = undefined;
          if (others.length > 0) {
            const current = info ?? (postmaster && ownerInfo(paths, { postmaster, url: this.url }));
            if (current) writeInfo(paths.infoFile, { ...current, ownerPid: 0, ownerStart: undefined });
            this.log(`Leaving PostgreSQL running for ${describe(others)}, which will supervise it from now on`);
            return;
          }
          if (postmaster) await stopPostmaster(postmaster);
          rmSync(paths.infoFile, { force: true });
          return;
        }
        // A user leaving last, after an owner left without anybody taking over yet.
        if (others.length === 0 && info && !ownerRunning(info) && isAlive(info.pid) && (await servesDataDir(info.url, paths.dataDir))) {
          await stopPostmaster({ pid: info.pid, port: info.port });
          rmSync(paths.infoFile, { force: true });
        }
      });
    } catch (e) {
      unregisterClient(paths);
      throw e;
    }
  }

  /** At process exit (nothing can be awaited): what leave() does, as far as possible. */
  exitNow(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const { paths } = this.control;
    const release = acquireHomeLockSync(paths.lockFile);
    try {
      unregisterClient(paths);
      const others = liveClients(paths);
      const info = readInfo(paths.infoFile);
      if (this.role === 'owner') {
        if (others.length > 0) {
          const current = info ?? (this.postmaster && ownerInfo(paths, { postmaster: this.postmaster, url: this.url }));
          if (current) writeInfo(paths.infoFile, { ...current, ownerPid: 0, ownerStart: undefined });
        } else {
          if (this.postmaster) signal(this.postmaster.pid, 'SIGINT');
          rmSync(paths.infoFile, { force: true });
        }
      } else if (others.length === 0 && info && !ownerRunning(info) && readPostmasterPidFileSync(paths.dataDir)?.pid === info.pid) {
        signal(info.pid, 'SIGINT');
        rmSync(paths.infoFile, { force: true });
      }
    } catch {
      // Best effort: whoever comes next cleans up after a dead process.
    } finally {
      release?.();
    }
  }

  private watch(postmaster: Postmaster): void {
    this.postmaster = postmaster;
    // A child reports its exit at once; an adopted postmaster is polled by check().
    postmaster.child?.once('exit', () => {
      if (this.postmaster === postmaster && !this.closed) this.kick();
    });
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const interval = this.role === 'owner' ? OWNER_CHECK_MS : USER_CHECK_MS;
    const delay = Math.max(interval, this.retryAt - Date.now());
    this.timer = setTimeout(() => this.kick(), delay);
    this.timer.unref(); // supervision alone does not keep a process alive
  }

  /** Runs a check now (unless one is already waiting), then schedules the next. */
  private kick(): void {
    if (this.queued || this.closed) return;
    this.queued = true;
    void this.enqueue(async () => {
      this.queued = false;
      if (this.closed || Date.now() < this.retryAt) return;
      try {
        await this.check();
        this.failures = 0;
        this.retryAt = 0;
      } catch (e) {
        this.failures++;
        const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** (this.failures - 1));
        this.retryAt = Date.now() + backoff;
        const what = this.role === 'owner' ? 'restart PostgreSQL' : 'take over supervising PostgreSQL';
        this.warn(`Could not ${what} (attempt ${this.failures}; next in ${(backoff / 1000).toFixed(1)} s): ${coerceError(e).message}`);
      }
    }).finally(() => this.schedule());
  }

  private async check(): Promise<void> {
    if (this.role === 'owner') {
      const postmaster = this.postmaster;
      if (!postmaster) return;
      const { child } = postmaster;
      if (child ? child.exitCode === null && child.signalCode === null : isAlive(postmaster.pid)) return;
      if (this.failures === 0) {
        const how = child ? ` (${child.signalCode ?? `exit code ${child.exitCode}`})` : '';
        this.warn(`PostgreSQL (pid ${postmaster.pid}) exited unexpectedly${how}; restarting it on port ${this.port}`);
      }
      await withLock(this.control.paths.lockFile, async () => {
        if (this.closed) return;
        const server = (await this.control.findRunning()) ?? (await this.control.start(this.port, (line) => this.log(line)));
        this.adopt(server);
        this.warn(`PostgreSQL is running again (pid ${server.postmaster.pid}, port ${server.postmaster.port})`);
      });
      return;
    }
    const info = readInfo(this.control.paths.infoFile);
    if (info && ownerRunning(info)) return;
    await withLock(this.control.paths.lockFile, async () => {
      if (this.closed) return;
      const current = readInfo(this.control.paths.infoFile);
      if (current && ownerRunning(current)) return;
      const { dataDir } = this.control.paths;
      if (current && isAlive(current.pid) && (await servesDataDir(current.url, dataDir))) {
        this.adopt({ postmaster: { pid: current.pid, port: current.port }, url: current.url });
      } else {
        const running = await this.control.findRunning();
        this.adopt(running ?? (await this.control.start(this.port, (line) => this.log(line))));
        if (!running) this.warn(`PostgreSQL was down with nobody supervising it; started it again on port ${this.port}`);
      }
      const previous = current?.ownerPid ? `the process that supervised it (pid ${current.ownerPid}) is gone` : 'it was handed over';
      this.log(`This process (pid ${process.pid}) supervises PostgreSQL now: ${previous}`);
    });
  }

  private adopt(server: RunningServer): void {
    if (server.url !== this.url) {
      this.warn(`PostgreSQL now runs at port ${server.postmaster.port} instead of ${this.port}; restart this process to follow it`);
    }
    writeInfo(this.control.paths.infoFile, ownerInfo(this.control.paths, server));
    this.control.remember(server.postmaster.port);
    this.role = 'owner';
    this.watch(server.postmaster);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private log(line: string): void {
    for (const sinks of this.handles) sinks.onLog?.(line);
  }

  private warn(message: string): void {
    for (const sinks of this.handles) sinks.onWarning?.(message);
  }
}

async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const release = await acquireHomeLock(file);
  try {
    return await fn();
  } finally {
    await release();
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const session of open) session.exitNow();
  });
}

function ownerRunning(info: ServerInfo): boolean {
  return info.ownerPid > 0 && isRunning({ pid: info.ownerPid, start: info.ownerStart });
}

/** What postgres.json says when this process owns `server`. */
function ownerInfo(paths: HomePaths, server: RunningServer): ServerInfo {
  const me = currentProcess();
  return {
    pid: server.postmaster.pid,
    port: server.postmaster.port,
    url: server.url,
    dataDir: paths.dataDir,
    ownerPid: me.pid,
    ownerStart: me.start,
  };
}

function readInfo(file: string): ServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServerInfo>;
    const valid =
      typeof info.pid === 'number' &&
      typeof info.ownerPid === 'number' &&
      typeof info.port === 'number' &&
      typeof info.url === 'string' &&
      typeof info.dataDir === 'string';
    return valid ? (info as ServerInfo) : undefined;
  } catch {
    return undefined; // missing or corrupt: treated as no server
  }
}

/** Written whole or not at all (readers never see half a file); 0600 since the URL holds the password. */
function writeInfo(file: string, info: ServerInfo): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

function clientFile(paths: HomePaths, pid: number): string {
  return path.join(paths.clientsDir, String(pid));
}

function registerClient(paths: HomePaths): void {
  const temp = path.join(paths.clientsDir, `.${process.pid}.tmp`);
  writeFileSync(temp, `${JSON.stringify(currentProcess())}\n`);
  renameSync(temp, clientFile(paths, process.pid));
}

function unregisterClient(paths: HomePaths): void {
  rmSync(clientFile(paths, process.pid), { force: true });
}

/** Other live processes using the server; files of dead ones are removed. */
function liveClients(paths: HomePaths): ProcessId[] {
  let names: string[];
  try {
    names = readdirSync(paths.clientsDir);
  } catch {
    return [];
  }
  const live: ProcessId[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue; // a file being written
    const file = path.join(paths.clientsDir, name);
    let client: ProcessId | undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ProcessId>;
      if (typeof parsed.pid === 'number') client = { pid: parsed.pid, start: typeof parsed.start === 'string' ? parsed.start : undefined };
    } catch {
      // unreadable: treated as dead
    }
    if (client?.pid === process.pid) continue;
    if (client && isRunning(client)) live.push(client);
    else rmSync(file, { force: true });
  }
  return live;
}

function describe(clients: ProcessId[]): string {
  const pids = clients.map((c) => c.pid).join(', ');
  return clients.length === 1 ? `process ${pids}` : `processes ${pids}`;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
