import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { serveApi } from './api/server.js';
import { bundleCacheDir, type UpdraftConfig } from './config.js';
import { resolveDatabase } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createPrisma, type Db } from './db/prisma.js';
import { deployDags, type DeployResult } from './deploy.js';
import { startWorker, type Worker, type WorkerOptions } from './executor/worker.js';
import { startScheduler, type Scheduler } from './scheduler.js';

/** A connection to the metadata database: Prisma for CRUD, a pg pool for the hot path. */
export interface Database {
  url: string;
  prisma: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** Opens the database of `home` (DATABASE_URL, a running embedded server, or a new one) and migrates it. */
export async function openDatabase(config: Pick<UpdraftConfig, 'home'>): Promise<Database> {
  const db = await resolveDatabase({ home: config.home });
  try {
    await migrate(db.url);
  } catch (e) {
    await db.stop();
    throw e;
  }
  const pool = createPool(db.url);
  const prisma = createPrisma(db.url);
  return {
    url: db.url,
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await db.stop();
    },
  };
}

export interface Platform {
  /** The GraphQL endpoint. */
  url: string;
  database: Database;
  deploy: DeployResult | null;
  stop(): Promise<void>;
}

/** API, scheduler and worker in one process, after deploying `dagsDir` when given: what `updraft start` runs. */
export async function startPlatform(
  config: UpdraftConfig,
  opts: { dagsDir?: string; onEvent?: WorkerOptions['onEvent']; onWarning?: (message: string) => void } = {},
): Promise<Platform> {
  const database = await openDatabase(config);
  let worker: Worker | undefined;
  let scheduler: Scheduler | undefined;
  let server: Server | undefined;
  try {
    const deploy = opts.dagsDir ? await deployDags(database.prisma, opts.dagsDir, { cacheDir: bundleCacheDir(config) }) : null;
    worker = await startWorker({ pool: database.pool, cacheDir: bundleCacheDir(config), concurrency: config.concurrency, onEvent: opts.onEvent, onWarning: opts.onWarning });
    scheduler = startScheduler({ pool: database.pool, onWarning: opts.onWarning });
    server = await serveApi({ prisma: database.prisma, pool: database.pool }, { host: config.host, port: config.port });
    const { port } = server.address() as AddressInfo;
    const started = { worker, scheduler, server };
    return {
      url: `http://${config.host}:${port}/graphql`,
      database,
      deploy,
      async stop() {
        await new Promise<void>((resolve) => started.server.close(() => resolve()));
        await started.scheduler.stop();
        await started.worker.stop();
        await database.close();
      },
    };
  } catch (e) {
    server?.close();
    await scheduler?.stop();
    await worker?.stop();
    await database.close();
    throw e;
  }
}
