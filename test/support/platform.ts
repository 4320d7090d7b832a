// A platform against a test database: deploy DAG files written by the test, run a worker,
// trigger runs and wait for them, all through the same modules `updraft start` uses.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { createApi } from '../../server/src/api/server.js';
import { createPool } from '../../server/src/db/pool.js';
import { deployDags, type DeployResult } from '../../server/src/deploy.js';
import type { TryEvent } from '../../server/src/executor/run-task.js';
import { startWorker, type Worker, type WorkerOptions } from '../../server/src/executor/worker.js';
import { triggerDagRun } from '../../server/src/runs.js';
import { fixedSecretKey, SecretKey } from '../../server/src/secrets/key.js';
import { decode } from '../../server/src/xcom/codec.cjs';
import { createTestDatabase, type TestDatabase } from './db.js';
import { TEST_SCRATCH } from './paths.js';

export { REPO_ROOT, TEST_SCRATCH } from './paths.js';

/**
 * A folder for DAG files inside the repository, so that `@updraft/sdk` resolves from
 * them the way it does from a user's project.
 */
export async function dagFolder(files: Record<string, string>): Promise<string> {
  const dir = path.join(TEST_SCRATCH, 'dags', randomBytes(6).toString('hex'));
  await writeDagFiles(dir, files);
  return dir;
}

export async function writeDagFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, source] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), source);
  }
}

/** The secret key of test platforms: their workers and `graphql()` seal and open secrets with it. */
export const TEST_SECRET_KEY = new SecretKey('test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz', 'the test key');

export interface TestPlatform {
  db: TestDatabase;
  pool: pg.Pool;
  cacheDir: string;
  events: TryEvent[];
  deploy(dir: string): Promise<DeployResult>;
  startWorker(concurrency?: number, options?: Partial<WorkerOptions>): Promise<Worker>;
  trigger(dagId: string, conf?: unknown): Promise<number>;
  /** Waits until the run has ended and returns its state. */
  waitForRun(id: number, timeoutMs?: number): Promise<string>;
  taskInstances(runId: number): Promise<Array<{ taskId: string; mapIndex: number; state: string; tryNumber: number; returnValue: unknown }>>;
  close(): Promise<void>;
}

export async function createTestPlatform(): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const pool = createPool(db.url, { max: 10, onError: () => undefined }); // dropped WITH (FORCE) at the end
  const cacheDir = path.join(TEST_SCRATCH, 'bundles');
  const workers: Worker[] = [];
  const events: TryEvent[] = [];
  return {
    db,
    pool,
    cacheDir,
    events,
    deploy: (dir) => deployDags(db.prisma, dir, { cacheDir }),
    async startWorker(concurrency = 4, options = {}) {
      const worker = await startWorker({
        pool,
        databaseUrl: db.url,
        cacheDir,
        concurrency,
        killGraceMs: 1_000,
        shutdownGraceMs: 2_000,
        secretKey: fixedSecretKey(TEST_SECRET_KEY),
        onEvent: (e) => events.push(e),
        ...options,
      });
      workers.push(worker);
      return worker;
    },
    trigger: (dagId, conf) => triggerDagRun(pool, { dagId, conf }),
    async waitForRun(id, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await db.prisma.dagRun.findUniqueOrThrow({ where: { id } });
        if (run.state === 'success' || run.state === 'failed') return run.state;
        if (Date.now() > deadline) throw new Error(`DagRun ${id} still ${run.state} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async taskInstances(runId) {
      const rows = await db.prisma.taskInstance.findMany({ where: { dagRunId: runId }, include: { xcoms: true }, orderBy: [{ id: 'asc' }] });
      // A value stored as devalue text is decoded; one in the object store shows as { blobKey, sizeBytes }.
      const valueOf = (x: (typeof rows)[number]['xcoms'][number] | undefined) =>
        x === undefined ? null : x.blobKey !== null ? { blobKey: x.blobKey, sizeBytes: x.sizeBytes } : x.serialized !== null ? decode('devalue', x.serialized) : x.value;
      return rows.map((ti) => ({ taskId: ti.taskId, mapIndex: ti.mapIndex, state: ti.state, tryNumber: ti.tryNumber, returnValue: valueOf(ti.xcoms.find((x) => x.key === 'return_value')) }));
    },
    async close() {
      for (const worker of workers) await worker.stop();
      await pool.end();
      await db.drop();
    },
  };
}

/**
 * A test platform with `dags` deployed from a fresh folder (no import error allowed) and a
 * worker of `concurrency` running. `dagsDir` is the folder, for files the tests add beside.
 */
export async function platformRunning(dags: Record<string, string>, concurrency = 4): Promise<TestPlatform & { dagsDir: string }> {
  const platform = await createTestPlatform();
  const dagsDir = await dagFolder(dags);
  const { importErrors } = await platform.deploy(dagsDir);
  if (importErrors.length > 0) throw new Error(`test DAGs did not deploy:\n${importErrors.map((e) => e.message).join('\n')}`);
  await platform.startWorker(concurrency);
  return Object.assign(platform, { dagsDir });
}

/** Runs a GraphQL operation through the API's handler (no server) and returns its `data`. */
export async function graphql<T>(platform: TestPlatform, query: string, variables?: Record<string, unknown>): Promise<T> {
  const api = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { secretKey: fixedSecretKey(TEST_SECRET_KEY) });
  const response = await api.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}
