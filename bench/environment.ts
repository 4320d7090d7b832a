import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withClient } from '../server/src/db/client.js';
import type { Pool } from 'pg';
import { openDatabase, type Database } from '../server/src/platform.js';
import type { Cleanup } from './cleanup.js';

export interface BenchDatabase {
  db: Database;
  /** The temporary UPDRAFT home (embedded cluster, bundle cache). */
  home: string;
  /** A temporary folder for generated DAGs. */
  dagsDir: string;
  /** How the database is provided, for the report. */
  kind: string;
}

/** A temporary home and a migrated database of its own, both removed by `cleanup`. */
export async function openBenchDatabase(cleanup: Cleanup): Promise<BenchDatabase> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-bench-'));
  cleanup.defer(`remove ${tmp}`, () => fs.rm(tmp, { recursive: true, force: true }));
  // As root the embedded server runs as another OS user, which must be able to enter this folder.
  await fs.chmod(tmp, 0o711);
  const kind = await useThrowawayDatabase(cleanup);
  const home = path.join(tmp, 'home');
  const db = await openDatabase({ home });
  cleanup.defer('close the database', () => db.close());
  return { db, home, dagsDir: path.join(tmp, 'dags'), kind };
}

/**
 * With DATABASE_URL set, the bench runs in a throwaway database created on that server
 * (and dropped afterwards), so that its DAGs and thousands of runs never mix with the
 * database it was pointed at.
 */
async function useThrowawayDatabase(cleanup: Cleanup): Promise<string> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return 'embedded PostgreSQL (temporary UPDRAFT home under the OS temp dir)';
  const name = `updraft_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  cleanup.defer(`drop database ${name}`, async () => {
    await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  return `DATABASE_URL's server (${url.host}), throwaway database`;
}


export interface Machine {
  cpus: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  /** `server_version`, e.g. 18.4. */
  postgresShort: string;
  database: string;
  /** The peer's package version. */
  dbos?: string;
  date: string;
}

export async function describeMachine(pool: Pool, database: string): Promise<Machine> {
  const { rows } = await pool.query<{ version: string; short: string }>(`SELECT version(), current_setting('server_version') AS short`);
  const dbos = JSON.parse(await fs.readFile(path.resolve(import.meta.dirname, '..', 'node_modules/@dbos-inc/dbos-sdk/package.json'), 'utf8').catch(() => '{}')) as { version?: string };
  return {
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: rows[0]!.version,
    postgresShort: `PostgreSQL ${rows[0]!.short.split(' ')[0]}`,
    database,
    dbos: dbos.version,
    date: new Date().toISOString(),
  };
}
