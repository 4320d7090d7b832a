import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { AuthOptions } from './api/authentication.js';
import { checkOpenHost, serveApi } from './api/server.js';
import { bundleCacheDir, type UpdraftConfig } from './config.js';
import { resolveDatabase } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { connectionLossReporter, createPool } from './db/pool.js';
import { createPrisma, type Db } from './db/prisma.js';
import { deployDags, type DeployResult } from './deploy.js';
import { LiveUpdates } from './live/live-updates.js';
import { startWorker, workerSettings, type Worker, type WorkerOptions } from './executor/worker.js';
import { startScheduler, type Scheduler } from './scheduler.js';
import type { SecretKeySource } from './secrets/key.js';

/** A connection to the metadata database: Prisma for CRUD, a pg pool for the hot path. */
export interface Database {
  url: string;
  prisma: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Opens the database of `home` (DATABASE_URL, a running embedded server, or a new one) and
 * migrates it. The embedded server is supervised: if it dies it comes back at the same URL,
 * and the pools reconnect by themselves. `onWarning` hears about that (default: stderr).
 */
export async function openDatabase(
  config: Pick<UpdraftConfig, 'home'>,
  opts: { onWarning?: (message: string) => void; onLog?: (line: string) => void } = {},
): Promise<Database> {
  const onWarning = opts.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const db = await resolveDatabase({ home: config.home, onWarning, onLog: opts.onLog });
  try {
    await migrate(db.url);
  } catch (e) {
    await db.stop();
    throw e;
  }
  const report = connectionLossReporter(onWarning);
  let closing = false;
  // pool.end() resolves before every socket has closed: a connection that the server's own
  // stop then terminates is not a lost connection worth a warning.
  const pool = createPool(db.url, { onError: (e) => closing || report(e) });
  const prisma = createPrisma(db.url);
  return {
    url: db.url,
    prisma,
    pool,
    close: once(async () => {
      closing = true;
      await prisma.$disconnect();
      await pool.end();
      await db.stop();
    }),
  };
}

/** `fn` run on the first call only; later calls get the first call's promise (stops may be requested twice). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

export interface Platform {
  /** The GraphQL endpoint. */
  url: string;
  database: Database;
  deploy: DeployResult | null;
  /** Stops the API and the scheduler, then the worker (see Worker.stop: graceful, or `force`d), then the database. */
  stop(opts?: { force?: boolean }): Promise<void>;
}

export interface PlatformOptions {
  /** A DAG folder to deploy before serving. */
  dagsDir?: string;
  /** Run a worker in this process. Default true (`updraft start`); `updraft server` runs none. */
  worker?: boolean;
  /** How the API authenticates (default: open, which is refused unless `config.host` is loopback). */
  auth?: AuthOptions;
  /** The key that encrypts secrets (the API seals with it, the worker opens with it). Default: none (secrets cannot be set or read). */
  secretKey?: SecretKeySource;
  onEvent?: WorkerOptions['onEvent'];
  onWarning?: (message: string) => void;
}

/**
 * API, scheduler and (unless `worker: false`) a worker in one process, after deploying
 * `dagsDir` when given: what `updraft start` and `updraft server` run.
 */
export async function startPlatform(config: UpdraftConfig, opts: PlatformOptions = {}): Promise<Platform> {
  checkOpenHost(config.host, opts.auth); // before anything starts
  const database = await openDatabase(config, { onWarning: opts.onWarning });
  let worker: Worker | null | undefined;
  let scheduler: Scheduler | undefined;
  let server: Server | undefined;
  const live = new LiveUpdates({ databaseUrl: database.url, onWarning: opts.onWarning });
  try {
    const deploy = opts.dagsDir ? await deployDags(database.prisma, opts.dagsDir, { cacheDir: bundleCacheDir(config) }) : null;
    worker =
      opts.worker === false
        ? null
        : await startWorker({ pool: database.pool, databaseUrl: database.url, ...workerSettings(config), secretKey: opts.secretKey, onEvent: opts.onEvent, onWarning: opts.onWarning });
    scheduler = startScheduler({ pool: database.pool, live, lostWorkerTimeoutMs: config.lostWorkerTimeoutMs, onWarning: opts.onWarning });
    server = await serveApi(
      { prisma: database.prisma, pool: database.pool, live },
      {
        host: config.host,
        port: config.port,
        corsOrigins: config.corsOrigins,
        allowedHosts: config.allowedHosts,
        lostWorkerTimeoutMs: config.lostWorkerTimeoutMs,
        auth: { onWarning: opts.onWarning, ...opts.auth },
        secretKey: opts.secretKey,
      },
    );
    const { port } = server.address() as AddressInfo;
    const started = { worker, scheduler, server };
    let stopping: Promise<void> | undefined;
    return {
      url: `http://${config.host}:${port}/graphql`,
      database,
      deploy,
      async stop(stopOpts = {}) {
        // A forced stop during a graceful one hurries the worker; the rest happens once.
        const worker = started.worker?.stop(stopOpts);
        await (stopping ??= (async () => {
          const closed = new Promise<void>((resolve) => started.server.close(() => resolve()));
          // Subscriptions end (their SSE responses complete), then their connections are idle.
          await live.close();
          started.server.closeIdleConnections();
          await started.scheduler.stop();
          await worker;
          await closed;
          await database.close();
        })());
      },
    };
  } catch (e) {
    server?.close();
    await live.close();
    await scheduler?.stop();
    await worker?.stop();
    await database.close();
    throw e;
  }
}
