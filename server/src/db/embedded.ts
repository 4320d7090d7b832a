// The embedded PostgreSQL that Updraft uses when DATABASE_URL is not set.
//
// Layout of an Updraft home (default `<cwd>/.updraft`):
//   pgdata/            the cluster (survives restarts)
//   postgres.password  password of the `postgres` superuser, generated once (mode 0600)
//   postgres.port      the server's port, chosen once (a free one at first start, or
//                      UPDRAFT_DB_PORT): every start, by any process, uses it, so the URL never changes
//   postgres.json      { pid, port, url, dataDir, ownerPid, ownerStart } of the running server
//   clients/<pid>      one per live process using the server
//   postgres.lock      held while a process starts, adopts, restarts, hands over or stops it
//
// resolveDatabase() shares one server between all the processes of a home, and keeps it
// running while any of them uses it: supervisor.ts has the details.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { withClient } from './client.js';
import { coerceError, pgErrorCode } from '../errors.js';
import {
  type OsUser,
  type Postmaster,
  type PostgresBinaries,
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
import { joinHome, type ServerControl, type RunningServer } from './supervisor.js';

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

/**
 * Starts PostgreSQL on `dataDir`, creating the cluster first if the directory does not exist
 * yet. Nothing supervises it: this is for throwaway clusters (the test harness); an Updraft
 * home's server goes through resolveDatabase().
 */
export async function startEmbeddedPostgres(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir);
  const onLog = opts.onLog ?? (() => {});
  const passwordFile = opts.passwordFile ?? path.join(path.dirname(dataDir), 'postgres.password');
  const cluster = await prepareCluster(dataDir, passwordFile, onLog);
  const running = await runningPostmaster(dataDir, cluster.password);
  if (running) {
    throw new Error(
      `PostgreSQL is already running on ${dataDir} (pid ${running.pid}, port ${running.port}). ` +
        `Use resolveDatabase() to share it, or stop that process first.`,
    );
  }
  const settings = { ...DEFAULT_SETTINGS, ...opts.settings };
  const postmaster =
    opts.port === undefined
      ? await spawnOnFreePort(dataDir, settings, cluster, onLog)
      : await spawnPostmaster({ dataDir, port: opts.port, settings, ...cluster, onLog });
  const url = await readyUrl(postmaster, cluster.password);
  return attach(postmaster, url);
}

export interface ResolvedDatabase {
  /** Constant for the life of the handle: the server always comes back on the same port. */
  url: string;
  /**
   * True while this process supervises the embedded server (it started or adopted it; it
   * restarts it if it dies). False with DATABASE_URL.
   */
  readonly owned: boolean;
  /** Idempotent. The embedded server stops when the last process using it stops. */
  stop(): Promise<void>;
}

export interface ResolveDatabaseOptions {
  home: string;
  /** PostgreSQL's log lines, and supervision events. */
  onLog?: (line: string) => void;
  /** The embedded server died and is being restarted, could not be restarted, changed supervisor… */
  onWarning?: (message: string) => void;
}

/**
 * Finds the database to use: DATABASE_URL if set; else the embedded server of `home`, which
 * this process shares with every other process of the home: it starts it if nobody runs it,
 * and keeps it up while it is used (supervisor.ts). Safe to call from several processes at
 * once, and several times in one process (the handles share one session).
 */
export async function resolveDatabase(opts: ResolveDatabaseOptions): Promise<ResolvedDatabase> {
  const envUrl = process.env.DATABASE_URL;
  if (envUrl) return { url: envUrl, owned: false, stop: async () => {} };
  const home = path.resolve(opts.home);
  await fs.mkdir(home, { recursive: true });
  return joinHome(homeControl(home), { onLog: opts.onLog, onWarning: opts.onWarning });
}

/** Finding and starting the server of an Updraft home, for supervisor.ts. */
function homeControl(home: string): ServerControl {
  const dataDir = path.join(home, 'pgdata');
  const passwordFile = path.join(home, 'postgres.password');
  const portFile = path.join(home, 'postgres.port');
  return {
    paths: {
      home,
      dataDir,
      lockFile: path.join(home, 'postgres.lock'),
      infoFile: path.join(home, 'postgres.json'),
      clientsDir: path.join(home, 'clients'),
    },
    async findRunning() {
      if (!(await isCluster(dataDir))) return undefined;
      const password = await readPassword(passwordFile, dataDir);
      const running = await runningPostmaster(dataDir, password);
      return running && { postmaster: running, url: postgresUrl(password, running.port, DATABASE_NAME) };
    },
    async start(port, onLog): Promise<RunningServer> {
      const cluster = await prepareCluster(dataDir, passwordFile, onLog);
      const configured = port === undefined ? configuredPort(portFile) : { port, from: 'file' as const };
      let postmaster: Postmaster;
      if (configured) {
        try {
          postmaster = await spawnPostmaster({ dataDir, port: configured.port, settings: DEFAULT_SETTINGS, ...cluster, onLog });
        } catch (e) {
          if (e instanceof PostmasterExitedError && e.portInUse) throw portInUse(configured.port, configured.from, portFile, e);
          throw e;
        }
      } else {
        postmaster = await spawnOnFreePort(dataDir, DEFAULT_SETTINGS, cluster, onLog);
      }
      const url = await readyUrl(postmaster, cluster.password);
      // Chosen once: every later start, by any process, uses this port.
      if (configured?.from !== 'file') writeFileSync(portFile, `${postmaster.port}\n`);
      return { postmaster, url };
    },
    remember(port) {
      // A server found running without a recorded port (started by an older Updraft) keeps its own.
      if (!existsSync(portFile)) writeFileSync(portFile, `${port}\n`);
    },
  };
}

/** The home's port: UPDRAFT_DB_PORT, else `postgres.port`; undefined before the first start. */
function configuredPort(portFile: string): { port: number; from: 'env' | 'file' } | undefined {
  const env = process.env.UPDRAFT_DB_PORT;
  if (env !== undefined && env.trim() !== '') {
    const port = parsePort(env);
    if (port === undefined) throw new Error(`UPDRAFT_DB_PORT must be a port number (1-65535), got "${env}"`);
    return { port, from: 'env' };
  }
  let text: string;
  try {
    text = readFileSync(portFile, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw coerceError(e);
  }
  const port = parsePort(text);
  if (port === undefined) {
    throw new Error(
      `${portFile} should hold the port of the embedded PostgreSQL but holds "${text}". ` +
        `Write a port number into it, or delete it to have a free port chosen.`,
    );
  }
  return { port, from: 'file' };
}

function parsePort(text: string): number | undefined {
  const port = Number(text.trim());
  return /^\d+$/.test(text.trim()) && port >= 1 && port <= 65535 ? port : undefined;
}

function portInUse(port: number, from: 'env' | 'file', portFile: string, cause: Error): Error {
  const origin = from === 'env' ? 'UPDRAFT_DB_PORT asks for it' : `it is stored in ${portFile}`;
  return new Error(
    `Port ${port} on 127.0.0.1 is in use by another program, so the embedded PostgreSQL cannot start there ` +
      `(${origin}: the server of this Updraft home always uses the same port). Stop that program, or choose ` +
      `another port: write it into ${portFile} (or delete that file to have a free port chosen), or set UPDRAFT_DB_PORT.`,
    { cause },
  );
}

interface Cluster {
  password: string;
  binaries: PostgresBinaries;
  user: OsUser | undefined;
}

/** The cluster of `dataDir`, created (with a new password) if it does not exist yet. */
async function prepareCluster(dataDir: string, passwordFile: string, onLog: (line: string) => void): Promise<Cluster> {
  const [binaries, user] = await Promise.all([postgresBinaries(), postgresOsUser()]);
  if (user) await assertReachableBy(user, dataDir);
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  if (await isCluster(dataDir)) return { password: await readPassword(passwordFile, dataDir), binaries, user };
  const password = await readOrCreatePassword(passwordFile);
  await initialiseCluster({ dataDir, password, binaries, user, onLog });
  return { password, binaries, user };
}

async function spawnOnFreePort(dataDir: string, settings: Record<string, string>, cluster: Cluster, onLog: (line: string) => void): Promise<Postmaster> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnPostmaster({ dataDir, port, settings, ...cluster, onLog });
    } catch (e) {
      // Another process may grab the port we picked before PostgreSQL binds it.
      if (!(e instanceof PostmasterExitedError && e.portInUse && attempt < 5)) throw e;
    }
  }
}

/** Creates the `updraft` database if needed; returns its URL. Stops the postmaster on failure. */
async function readyUrl(postmaster: Postmaster, password: string): Promise<string> {
  try {
    await ensureDatabase(postgresUrl(password, postmaster.port, 'postgres'), DATABASE_NAME);
  } catch (e) {
    await stopPostmaster(postmaster);
    throw e;
  }
  return postgresUrl(password, postmaster.port, DATABASE_NAME);
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
