import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, MigrationError, migrate } from '../server/src/db/migrate.js';
import { type TestDatabase, createTestDatabase } from './support/db.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ empty: true });
  cleanups.push(() => db.drop());
  return db;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A copy of prisma/migrations that a test may edit. */
async function migrationsCopy(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-migrations-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.cp(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function localMigrationNames(): Promise<string[]> {
  const entries = await fs.readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

interface BookedRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

describe('migrate', () => {
  it('applies every migration to a fresh database and books it as prisma migrate deploy does', async () => {
    const db = await emptyDatabase();
    const names = await localMigrationNames();
    expect(names).toContain('20261127000000_init');

    expect(await migrate(db.url)).toEqual({ applied: names });

    const rows = await query<BookedRow>(db.url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const script = await fs.readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row).toMatchObject({
        checksum: createHash('sha256').update(script).digest('hex'),
        finished_at: expect.any(Date),
        logs: null,
        rolled_back_at: null,
        applied_steps_count: 1,
      });
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    }

    // The bookkeeping table is Prisma's, column for column.
    const columns = await query<{ column_name: string; data_type: string; is_nullable: string }>(
      db.url,
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable === 'NO' ? 'NOT NULL' : 'NULL'}`)).toEqual([
      'id character varying NOT NULL',
      'checksum character varying NOT NULL',
      'finished_at timestamp with time zone NULL',
      'migration_name character varying NOT NULL',
      'logs text NULL',
      'rolled_back_at timestamp with time zone NULL',
      'started_at timestamp with time zone NOT NULL',
      'applied_steps_count integer NOT NULL',
    ]);
  });

  it('applies nothing the second time', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    expect(await migrate(db.url)).toEqual({ applied: [] });
    expect(await query(db.url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength((await localMigrationNames()).length);
  });

  it('installs graphile-worker', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    const [row] = await query<{ migrations: number }>(db.url, 'SELECT count(*)::int AS migrations FROM graphile_worker.migrations');
    expect(row?.migrations).toBeGreaterThan(0);
    await query(db.url, `SELECT graphile_worker.add_job('noop', '{}'::json)`);
  });

  it('serialises concurrent migrators: each migration is applied once', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(await localMigrationNames());
    expect(await query(db.url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength((await localMigrationNames()).length);
  });

  it('refuses a migration that was changed after it was applied, naming it', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    const dir = await migrationsCopy();
    await fs.appendFile(path.join(dir, '20261127000000_init', 'migration.sql'), '\n-- edited\n');

    const attempt = migrate(db.url, { migrationsDir: dir });
    await expect(attempt).rejects.toThrow(MigrationError);
    await expect(attempt).rejects.toThrow(/Migration 20261127000000_init was modified after it was applied/);
  });

  it('accepts the same script with CRLF line endings, as Prisma does', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    const dir = await migrationsCopy();
    const file = path.join(dir, '20261127000000_init', 'migration.sql');
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replaceAll('\n', '\r\n'));
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: [] });
  });

  it('rolls back a failing migration, books the failure and refuses to go on until it is resolved', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    const broken = path.join(dir, '29990101000000_broken');
    await fs.mkdir(broken);
    await fs.writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_column FROM dag;\n');

    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(
      /Migration 29990101000000_broken failed and was rolled back: column "no_such_column" does not exist \(line 2\)/,
    );
    // The migrations before it stay applied; the broken one left nothing behind but its booking.
    expect(await query(db.url, `SELECT to_regclass('half_done') AS t`)).toEqual([{ t: null }]);
    const rows = await query<BookedRow>(db.url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const names = await localMigrationNames();
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null])).toEqual([...names.map((name) => [name, true]), ['29990101000000_broken', false]]);
    expect(rows.at(-1)?.logs).toMatch(/no_such_column/);

    await fs.writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE half_done (id int);\n');
    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(/Migration 29990101000000_broken failed when it was applied/);

    // What `prisma migrate resolve --rolled-back` does.
    await query(db.url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '29990101000000_broken'`);
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: ['29990101000000_broken'] });
    expect(await query(db.url, `SELECT to_regclass('half_done')::text AS t`)).toEqual([{ t: 'half_done' }]);
  });
});
