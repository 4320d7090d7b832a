import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveDatabase, startEmbeddedPostgres } from '../server/src/db/embedded.js';
import { isAlive, readPostmasterPidFile } from '../server/src/db/postgres-process.js';

// These tests exercise the embedded server itself; with DATABASE_URL set there is none.
describe.skipIf(Boolean(process.env.DATABASE_URL))('embedded PostgreSQL', () => {
  let home: string;
  let pristineHome: string;
  const children: ChildProcess[] = [];

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
    for (const child of children.splice(0)) child.kill('SIGKILL');
    const postmaster = await readPostmasterPidFile(path.join(home, 'pgdata'));
    if (postmaster && isAlive(postmaster.pid)) {
      process.kill(postmaster.pid, 'SIGQUIT');
      await waitUntil(() => !isAlive(postmaster.pid));
    }
    await fs.rm(home, { recursive: true, force: true });
  });

  const infoFile = () => path.join(home, 'postgres.json');
  const readInfo = async () => JSON.parse(await fs.readFile(infoFile(), 'utf8')) as { pid: number; ownerPid: number; url: string };

  it('keeps data across stop and start, and lets a second caller reuse the running server', async () => {
    const first = await resolveDatabase({ home });
    expect(first.owned).toBe(true);
    const info = await readInfo();
    expect(info).toMatchObject({ ownerPid: process.pid, url: first.url });
    expect(isAlive(info.pid)).toBe(true);
    await sql(first.url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);

    const second = await resolveDatabase({ home });
    expect(second).toMatchObject({ owned: false, url: first.url });
    await second.stop(); // not the owner: leaves the server running
    expect(await sql(first.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);

    await first.stop();
    expect(isAlive(info.pid)).toBe(false);
    expect(existsSync(infoFile())).toBe(false);

    const third = await resolveDatabase({ home });
    expect(third.owned).toBe(true);
    expect(await sql(third.url, 'SELECT v FROM kept')).toEqual([{ v: 'hello' }]);
    await third.stop();
  });

  it('starts one server when two callers race', async () => {
    await initialisedHome();
    const both = await Promise.all([resolveDatabase({ home }), resolveDatabase({ home })]);
    expect(both.map((db) => db.owned).sort()).toEqual([false, true]);
    expect(both[0]?.url).toBe(both[1]?.url);
    await Promise.all(both.map((db) => db.stop()));
  });

  it('adopts the server of an owner killed with SIGKILL', async () => {
    await initialisedHome();
    const { child, url } = await holdDatabase();
    await sql(url, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')`);
    const { pid } = await readInfo();
    await kill(child, 'SIGKILL');
    expect(isAlive(pid)).toBe(true); // the postmaster runs on, orphaned

    const db = await resolveDatabase({ home });
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

    const db = await resolveDatabase({ home });
    expect(db.owned).toBe(true);
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

  it('refuses to start a second server on a data directory in use', async () => {
    await initialisedHome();
    const db = await resolveDatabase({ home });
    await expect(startEmbeddedPostgres({ dataDir: path.join(home, 'pgdata') })).rejects.toThrow(/already running/);
    await db.stop();
  });

  /** Runs test/support/hold-database.ts on `home` in a child process. */
  async function holdDatabase(mode?: 'exit'): Promise<{ child: ChildProcess; url: string; pid: number }> {
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
    expect(owned).toBe(true);
    return { child, url, pid };
  }
});

const execFileAsync = promisify(execFile);

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

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
