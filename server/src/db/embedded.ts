// The embedded PostgreSQL that Updraft uses when DATABASE_URL is not set.
//
// Layout of an Updraft home (default `<cwd>/.updraft`):
//   pgdata/            the cluster (survives restarts)
//   postgres.password  password of the `postgres` superuser, generated once (mode 0600)
//   postgres.json      { pid, ownerPid, port, url, dataDir } of the running server, for other processes
//   postgres.lock      held while a process starts or adopts the server
//
// The process that starts the server owns it: the server stops when that process calls
// stop() or exits. Other processes reuse it (owned=false). If the owner dies without
// stopping it (SIGKILL), the postmaster keeps running and the next resolveDatabase() adopts it.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { withClient } from './client.js';
import { coerceError, pgErrorCode } from '../errors.js';
import { acquireHomeLock } from './home-lock.js';
import {
  type Postmaster,
  PostmasterExitedError,
  assertReachableBy,
  freePort,
  initialiseCluster,
  isAlive,
  postgresBinaries,
  postgresOsUser,
  readPostmasterPidFile,
  servesDataDir,
  sleep,
  spawnPostmaster,
  stopPostmaster,
} from './postgres-process.js';

export const DATABASE_NAME = 'updraft';
const SUPERUSER = 'postgres';

const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  // No Unix socket: clients use the URL, and nothing is left in /tmp after a crash.
  unix_socket_directories: '',
  // Parallel test files, each with a Prisma pool and a graphile-worker pool.
  max_connections: '300',
};

export interface EmbeddedServer {
  /** URL of the `updraft` database, as the `postgres` superuser. */
  url: string;
  port: number;
  /** Pid of the postmaster. */
  pid: number;
  stop(): Promise<void>;
}

export interface StartEmbeddedOptions {
  dataDir: string;
  /** A free port on 127.0.0.1 is picked when omitted. */
  port?: number;
  onLog?: (line: string) => void;
  /** Extra server settings (`postgres -c name=value`), e.g. `{ fsync: 'off' }` for throwaway clusters. */
  settings?: Record<string, string>;
  /** Defaults to `postgres.password` next to `dataDir`; generated when the cluster is created. */
  passwordFile?: string;
}

/** Starts PostgreSQL on `dataDir`, creating the cluster first if the directory does not exist yet. */
export async function startEmbeddedPostgres(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir);
  const onLog = opts.onLog ?? (() => {});
  const passwordFile = opts.passwordFile ?? path.join(path.dirname(dataDir), 'postgres.password');
  const [binaries, user] = await Promise.all([postgresBinaries(), postgresOsUser()]);
  if (user) await assertReachableBy(user, dataDir);
  await fs.mkdir(path.dirname(dataDir), { recursive: true });

  let password: string;
  if (await isCluster(dataDir)) {
    password = await readPassword(passwordFile, dataDir);
    const running = await runningPostmaster(dataDir, password);
    if (running) {
      throw new Error(
        `PostgreSQL is already running on ${dataDir} (pid ${running.pid}, port ${running.port}). ` +
          `Use resolveDatabase() to share it, or stop that process first.`,
      );
    }
  } else {
    password = await readOrCreatePassword(passwordFile);
    await initialiseCluster({ dataDir, password, binaries, user, onLog });
  }

  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  let postmaster: Postmaster | undefined;
  for (let attempt = 1; !postmaster; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      postmaster = await spawnPostmaster({ dataDir, port, settings, binaries, user, onLog });
    } catch (e) {
      // Another process may grab the port we picked before PostgreSQL binds it.
      const retry = e instanceof PostmasterExitedError && e.portInUse && opts.port === undefined && attempt < 5;
      if (!retry) throw e;
    }
  }

  try {
    await ensureDatabase(postgresUrl(password, postmaster.port, 'postgres'), DATABASE_NAME);
  } catch (e) {
    await stopPostmaster(postmaster);
    throw e;
  }
  return attach(postmaster, postgresUrl(password, postmaster.port, DATABASE_NAME));
}

export interface ResolvedDatabase {
  url: string;
  /** True when this process started (or adopted) the embedded server and must stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface ServerInfo {
  pid: number;
  ownerPid: number;
  port: number;
  url: string;
  dataDir: string;
}

/**
 * Finds the database to use: DATABASE_URL if set; else the embedded server of `home` if one is
 * running (started by another process); else starts it. Safe to call from several processes
 * at once: they serialise on `<home>/postgres.lock`, and all but the first reuse its server.
 */
export async function resolveDatabase(opts: { home: string; onLog?: (line: string) => void }): Promise<ResolvedDatabase> {
  const envUrl = process.env.DATABASE_URL;
  if (envUrl) return { url: envUrl, owned: false, stop: async () => {} };

  const home = path.resolve(opts.home);
  const dataDir = path.join(home, 'pgdata');
  const passwordFile = path.join(home, 'postgres.password');
  const infoFile = path.join(home, 'postgres.json');
  await fs.mkdir(home, { recursive: true });
  const release = await acquireHomeLock(path.join(home, 'postgres.lock'));
  try {
    const info = await readServerInfo(infoFile);
    if (info && isAlive(info.pid) && (await servesDataDir(info.url, dataDir))) {
      if (isAlive(info.ownerPid)) return { url: info.url, owned: false, stop: async () => {} };
      // Its owner died without stopping it (e.g. SIGKILL): take it over.
      return await own(infoFile, attach({ pid: info.pid, port: info.port }, info.url), dataDir);
    }
    await fs.rm(infoFile, { force: true });

    if (await isCluster(dataDir)) {
      // Running, but not (correctly) recorded: the owner crashed right after starting it.
      const password = await readPassword(passwordFile, dataDir);
      const running = await runningPostmaster(dataDir, password);
      if (running) return await own(infoFile, attach(running, postgresUrl(password, running.port, DATABASE_NAME)), dataDir);
    }
    return await own(infoFile, await startEmbeddedPostgres({ dataDir, passwordFile, onLog: opts.onLog }), dataDir);
  } finally {
    await release();
  }
}

async function own(infoFile: string, server: EmbeddedServer, dataDir: string): Promise<ResolvedDatabase> {
  const info: ServerInfo = { pid: server.pid, ownerPid: process.pid, port: server.port, url: server.url, dataDir };
  await fs.writeFile(infoFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  const removeInfo = () => rmSync(infoFile, { force: true });
  process.once('exit', removeInfo);
  return {
    url: server.url,
    owned: true,
    stop: async () => {
      process.off('exit', removeInfo);
      await server.stop();
      removeInfo();
    },
  };
}

/** Wraps a running postmaster; it is stopped by stop() or, failing that, when this process exits. */
function attach(postmaster: Postmaster, url: string): EmbeddedServer {
  const stopOnExit = () => {
    try {
      process.kill(postmaster.pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', stopOnExit);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: postmaster.port,
    pid: postmaster.pid,
    stop: () => {
      process.off('exit', stopOnExit);
      stopping ??= stopPostmaster(postmaster);
      return stopping;
    },
  };
}

/**
 * The postmaster recorded in `<dataDir>/postmaster.pid`, if it is alive and serves this data
 * directory. Waits while it is starting up or shutting down. A postmaster.pid left by a crash
 * is removed.
 */
async function runningPostmaster(dataDir: string, password: string): Promise<Postmaster | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const recorded = await readPostmasterPidFile(dataDir);
    if (!recorded) return undefined;
    if (!isAlive(recorded.pid)) {
      // PostgreSQL replaces a lock file whose pid is gone, but not one naming a zombie (an
      // orphaned postmaster that PID 1 never reaps, common in containers); remove it. Old
      // backends still attached to the shared memory would be detected by PostgreSQL anyway
      // (its shared memory key derives from the data directory's inode).
      await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
      return undefined;
    }
    if (await servesDataDir(postgresUrl(password, recorded.port, 'postgres'), dataDir, 1_000)) return recorded;
    if (!(await mayBePostmasterOf(recorded.pid, dataDir))) {
      await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
      return undefined;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `PostgreSQL process ${recorded.pid} holds ${path.join(dataDir, 'postmaster.pid')} but does not accept ` +
          `connections on port ${recorded.port}. Stop that process (kill ${recorded.pid}) and try again.`,
      );
    }
    await sleep(200);
  }
}

async function mayBePostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  try {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.includes(dataDir);
  } catch {
    return true; // cannot tell (no /proc): assume it is, never remove a live postmaster's lock file
  }
}

async function isCluster(dataDir: string): Promise<boolean> {
  const entries = await fs.readdir(dataDir).catch((e: unknown): string[] => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  });
  if (entries.includes('PG_VERSION')) return true;
  if (entries.length === 0) return false;
  throw new Error(
    `${dataDir} exists but is not a PostgreSQL data directory (no PG_VERSION). ` +
      `Move it away or delete it so that a new cluster can be created there.`,
  );
}

async function readPassword(passwordFile: string, dataDir: string): Promise<string> {
  try {
    const password = (await fs.readFile(passwordFile, 'utf8')).trim();
    if (password) return password;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw coerceError(e);
  }
  throw new Error(
    `${dataDir} was created with the superuser password stored in ${passwordFile}, which is missing or empty. ` +
      `Restore that file, or delete ${dataDir} to start over with an empty database.`,
  );
}

async function readOrCreatePassword(passwordFile: string): Promise<string> {
  const existing = await fs.readFile(passwordFile, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const password = randomBytes(18).toString('hex');
  await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

async function readServerInfo(file: string): Promise<ServerInfo | undefined> {
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

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((e: unknown) => {
      if (pgErrorCode(e) !== '42P04') throw e; // duplicate_database: created concurrently
    });
  });
}

function postgresUrl(password: string, port: number, database: string): string {
  return `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}
