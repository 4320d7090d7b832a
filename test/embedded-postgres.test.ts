import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Logger, run, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ResolvedDatabase, resolveDatabase, startEmbeddedPostgres } from '../server/src/db/embedded.js';
import { createPool } from '../server/src/db/pool.js';
import { freePort, isAlive, readPostmasterPidFile } from '../server/src/db/postgres-process.js';
import { createPrisma } from '../server/src/db/prisma.js';

// These tests exercise the embedded server itself; with DATABASE_URL set there is none.
describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded PostgreSQL', () => {
  let home: string;
  let pristineHome: string;
  const children: ChildProcess[] = [];
  const opened: ResolvedDatabase[] = [];

  beforeAll(async () => {
    // One initdb for the file (~1.5 s); most tests start from a copy of it.
    pristineHome = await tempHome();
    await (await startEmbeddedPostgres({ dataDir: path.join(pristineHome, 'pgdata') })).stop();
  });
  afterAll(() => fs.rm(pristineHome, { recursive: true, force: true }));

  beforeEach(async () => {
    home = await tempHome();
  });

  /** Gives `home` an already initialised (stopped) cluster. */
  async function initialisedHome(): Promise<void> {
    await fs.rm(home, { recursive: true });
    await execFileAsync('cp', ['-a', pristineHome, home]); // -a keeps the postgres user's ownership
  }

  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => (child.exitCode === null && child.signalCode === null ? kill(child, 'SIGKILL') : undefined)));
    await Promise.allSettled(opened.splice(0).map((db) => db.stop()));
    const postmaster = await readPostmasterPidFile(path.join(home, 'pgdata'));
    if (postmaster && isAlive(postmaster.pid)) {
      process.kill(postmaster.pid, 'SIGQUIT');
      await waitUntil(() => !isAlive(postmaster.pid));
    }
    await fs.rm(home, { recursive: true, force: true });
  });

  const infoFile = () => path.join(home, 'postgres.json');
  const portFile = () => path.join(home, 'postgres.port');
  const readInfo = async () => JSON.parse(await fs.readFile(infoFile(), 'utf8')) as { pid: number; port: number; ownerPid: number; url: string };
  /** resolveDatabase() in this process; stopped after the test if the test did not. */
  async function resolve(opts: { onWarning?: (message: string) => void } = {}): Promise<ResolvedDatabase> {
    const db = await resolveDatabase({ home, ...opts });
    opened.push(db);
    return db;
  }

  it('keeps data and its port across stop and start, and shares the server between handles of a process', async () => {
    const first = await resolve();
    expect(first.owned).toBe(true);
    const info = await readInfo();
    expect(info).toMatchObject({ ownerPid: process.pid, url: first.url });
    expect(isAlive(info.pid)).toBe(true);
    expect(Number((await fs.readFile(portFile(), 'utf8')).trim())).toBe(info.port);
    await sql(first.url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);

    const second = await resolve();
    expect(second.url).toBe(first.url);
    expect((await readInfo()).pid).toBe(info.pid);
    await second.stop(); // the first handle still uses it
    expect(await sql(first.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);

    await first.stop();
    expect(isAlive(info.pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);

    const third = await resolve();
    expect(third).toMatchObject({ owned: true, url: first.url }); // same port, so same URL
    expect(await sql(third.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);
    await third.stop();

    // Another process starting it uses the same port too.
    const other = await holdDatabase();
    expect(other).toMatchObject({ owned: true, url: first.url });
    await terminate(other.child);
    expect(isAlive(other.pid)).toBe(false);
  });

  it('starts one server when two processes race, and stops it when the last one stops', async () => {
    await initialisedHome();
    const both = await Promise.all([holdDatabase(), holdDatabase()]);
    expect(both.map((p) => p.owned).sort()).toEqual([false, true]);
    expect(both[0].url).toBe(both[1].url);
    expect(both[0].pid).toBe(both[1].pid);
    const owner = both.find((p) => p.owned)!;
    const user = both.find((p) => !p.owned)!;
    expect((await readInfo()).ownerPid).toBe(owner.child.pid);

    // The owner stops first: PostgreSQL stays up for the other process, which takes it over.
    await terminate(owner.child);
    expect(isAlive(owner.pid)).toBe(true);
    expect(await sql(user.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await waitUntil(async () => (await readInfo()).ownerPid === user.child.pid);

    await terminate(user.child);
    expect(isAlive(owner.pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);
  });

  it('refuses to start on its port when another program holds it, and says how to change it', async () => {
    await initialisedHome();
    const blocker = net.createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await fs.writeFile(portFile(), `${taken}\n`);
      const failure = resolveDatabase({ home });
      await expect(failure).rejects.toThrow(`Port ${taken} on 127.0.0.1 is in use by another program`);
      await expect(failure).rejects.toThrow(`it is stored in ${portFile()}`);
      await expect(failure).rejects.toThrow(/UPDRAFT_DB_PORT/);
      expect(await readPostmasterPidFile(path.join(home, 'pgdata'))).toBeUndefined();
      expect(await fs.readdir(path.join(home, 'clients'))).toEqual([]);
    } finally {
      await new Promise((done) => blocker.close(done));
    }

    // UPDRAFT_DB_PORT picks another one, which then sticks.
    const wanted = await freePort();
    process.env.UPDRAFT_DB_PORT = String(wanted);
    try {
      const db = await resolve();
      expect(new URL(db.url).port).toBe(String(wanted));
      await db.stop();
    } finally {
      delete process.env.UPDRAFT_DB_PORT;
    }
    expect((await fs.readFile(portFile(), 'utf8')).trim()).toBe(String(wanted));
    const again = await resolve();
    expect(new URL(again.url).port).toBe(String(wanted));
    await again.stop();
  });

  it('restarts PostgreSQL killed with SIGKILL on the same port; pools, Prisma and graphile-worker created before carry on', async () => {
    await initialisedHome();
    const warnings: string[] = [];
    const db = await resolve({ onWarning: (m) => warnings.push(m) });
    const pool = createPool(db.url, { onError: () => undefined });
    const prisma = createPrisma(db.url);
    let polled = false;
    let listens = 0;
    const completed: string[] = [];
    const events: WorkerEvents = new EventEmitter();
    events.on('worker:getJob:empty', () => (polled = true));
    events.on('pool:listen:success', () => listens++);
    events.on('job:success', ({ job }) => completed.push(job.task_identifier));
    const runner = await run({
      pgPool: pool,
      concurrency: 1,
      noHandleSignals: true,
      pollInterval: 3_600_000, // jobs are found through LISTEN/NOTIFY only
      logger: new Logger(() => () => {}),
      taskList: { probe: async () => undefined },
      events,
    });
    try {
      // graphile-worker 0.17 caches a failure of its first job query (the task id lookup) for
      // good, so the worker must have polled once before the database goes away.
      await waitUntil(() => polled);
      listens = 0;
      expect(await pool.query('SELECT 1 AS one').then((r) => r.rows)).toEqual([{ one: 1 }]);
      expect(await prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);

      const before = await readInfo();
      process.kill(before.pid, 'SIGKILL');
      await waitUntil(async () => {
        const info = await readInfo();
        return info.pid !== before.pid && isAlive(info.pid);
      }, RESTART_MS);
      const after = await readInfo();
      expect(after).toMatchObject({ port: before.port, url: db.url, ownerPid: process.pid });
      expect(warnings.join('\n')).toMatch(new RegExp(`PostgreSQL \\(pid ${before.pid}\\) exited unexpectedly \\(SIGKILL\\); restarting it on port ${before.port}`));
      expect(db.owned).toBe(true);

      expect(await pool.query('SELECT 2 AS two').then((r) => r.rows)).toEqual([{ two: 2 }]);
      expect(await prisma.$queryRaw`SELECT 2 AS two`).toEqual([{ two: 2 }]);
      // graphile-worker reconnects its LISTEN client by itself (with backoff), then hears new jobs.
      await waitUntil(() => listens > 0, 30_000);
      await pool.query(`SELECT graphile_worker.add_job('probe')`);
      await waitUntil(() => completed.includes('probe'));
    } finally {
      await runner.stop();
      await prisma.$disconnect();
      await pool.end();
    }
    await db.stop();
  });

  it('keeps PostgreSQL for a process that still uses it when the owner stops, and restarts it from there', async () => {
    await initialisedHome();
    const owner = await holdDatabase();
    const warnings: string[] = [];
    const db = await resolve({ onWarning: (m) => warnings.push(m) });
    expect(db).toMatchObject({ owned: false, url: owner.url });
    const pool = createPool(db.url, { onError: () => undefined });
    try {
      await terminate(owner.child);
      expect(isAlive(owner.pid)).toBe(true);
      await waitUntil(() => db.owned);
      expect(await readInfo()).toMatchObject({ pid: owner.pid, ownerPid: process.pid });
      expect(warnings).toEqual([]); // a handover is no incident

      // This process supervises the adopted postmaster (not its child) from now on.
      process.kill(owner.pid, 'SIGKILL');
      await waitUntil(async () => {
        const info = await readInfo();
        return info.pid !== owner.pid && isAlive(info.pid);
      }, RESTART_MS);
      expect((await readInfo()).url).toBe(db.url);
      expect(await pool.query('SELECT 1 AS one').then((r) => r.rows)).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
    const { pid } = await readInfo();
    await db.stop(); // the last user: PostgreSQL stops
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);
  });

  it('does not keep PostgreSQL running for a user process that was killed with SIGKILL', async () => {
    await initialisedHome();
    const db = await resolve();
    const user = await holdDatabase();
    expect(user.owned).toBe(false);
    expect((await fs.readdir(path.join(home, 'clients'))).sort()).toEqual([String(process.pid), String(user.child.pid)].sort());
    await kill(user.child, 'SIGKILL');
    const { pid } = await readInfo();
    await db.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);
    expect(await fs.readdir(path.join(home, 'clients'))).toEqual([]);
  });

  it('takes over supervision when the owner was killed with SIGKILL and PostgreSQL then dies', async () => {
    await initialisedHome();
    const owner = await holdDatabase();
    const warnings: string[] = [];
    const db = await resolve({ onWarning: (m) => warnings.push(m) });
    expect(db.owned).toBe(false);
    const pool = createPool(db.url, { onError: () => undefined });
    try {
      await pool.query(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);
      await kill(owner.child, 'SIGKILL');
      process.kill(owner.pid, 'SIGKILL');
      await waitUntil(async () => db.owned && isAlive((await readInfo()).pid), RESTART_MS);
      expect(await readInfo()).toMatchObject({ ownerPid: process.pid, url: db.url });
      expect(warnings.join('\n')).toContain('PostgreSQL was down with nobody supervising it; started it again');
      expect(await pool.query('SELECT v FROM kept').then((r) => r.rows)).toEqual([{ v: 'hello' }]);
    } finally {
      await pool.end();
    }
    const { pid } = await readInfo();
    await db.stop();
    expect(isAlive(pid)).toBe(false);
  });

  it('adopts the server of an owner killed with SIGKILL', async () => {
    await initialisedHome();
    const { child, url } = await holdDatabase();
    await sql(url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);
    const { pid } = await readInfo();
    await kill(child, 'SIGKILL');
    expect(isAlive(pid)).toBe(true); // the postmaster runs on, orphaned

    const db = await resolve();
    expect(db).toMatchObject({ owned: true, url });
    expect(await readInfo()).toMatchObject({ pid, ownerPid: process.pid });
    expect(await sql(db.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);
    await db.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);
  });

  it('starts again after both the owner and PostgreSQL were killed', async () => {
    await initialisedHome();
    const { child, url } = await holdDatabase();
    await sql(url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);
    const { pid } = await readInfo();
    await kill(child, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid));
    // Both postgres.json and pgdata/postmaster.pid are left behind, naming dead processes.
    expect(existsSync(infoFile())).toBe(true);
    expect((await readPostmasterPidFile(path.join(home, 'pgdata')))?.pid).toBe(pid);

    const db = await resolve();
    expect(db).toMatchObject({ owned: true, url });
    expect((await readInfo()).pid).not.toBe(pid);
    expect(await sql(db.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);
    await db.stop();
  });

  it('stops the server when its owner exits without calling stop()', async () => {
    await initialisedHome();
    const { child, pid } = await holdDatabase('exit');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    await waitUntil(() => !isAlive(pid));
    expect(existsSync(infoFile())).toBe(false);
  });

  it('hands the server over when its owner exits without calling stop() while another process uses it', async () => {
    await initialisedHome();
    const owner = await holdDatabase();
    const db = await resolve();
    expect(db.owned).toBe(false);
    const exited = new Promise<number | null>((done) => owner.child.once('exit', done));
    owner.child.kill('SIGUSR2'); // process.exit(0) without stop()
    expect(await exited).toBe(0);
    expect(isAlive(owner.pid)).toBe(true);
    expect(await readInfo()).toMatchObject({ pid: owner.pid });
    await waitUntil(() => db.owned);
    expect(await sql(db.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.stop();
    expect(isAlive(owner.pid)).toBe(false);
  });

  it('refuses to start a second server on a data directory in use', async () => {
    await initialisedHome();
    const db = await resolve();
    await expect(startEmbeddedPostgres({ dataDir: path.join(home, 'pgdata') })).rejects.toThrow(/already running/);
    await db.stop();
  });

  /** Runs test/support/hold-database.ts on `home` in a child process. */
  async function holdDatabase(mode?: 'exit'): Promise<{ child: ChildProcess; url: string; owned: boolean; pid: number }> {
    const script = new URL('./support/hold-database.ts', import.meta.url).pathname;
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', script, home, ...(mode ? [mode] : [])], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    const line = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`hold-database.ts exited with code ${code}`)));
    });
    const { url, owned, pid } = JSON.parse(line) as { url: string; owned: boolean; pid: number };
    return { child, url, owned, pid };
  }
});

const execFileAsync = promisify(execFile);
/** A restart takes well under a second on an idle machine; allow for crash recovery on a loaded one. */
const RESTART_MS = 15_000;

async function tempHome(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-home-'));
  await fs.chmod(dir, 0o755); // as root, PostgreSQL runs as "postgres" and must enter it
  return dir;
}

async function sql(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(text);
    return Array.isArray(result) ? [] : result.rows;
  } finally {
    await client.end();
  }
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** Asks a hold-database.ts child to stop its handle and exit. */
async function terminate(child: ChildProcess): Promise<void> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
