// Applies prisma/migrations/<name>/migration.sql and books them in `_prisma_migrations` the way
// `prisma migrate deploy` does (same table, checksums and lock), so either tool can take over.
// Prisma's CLI cannot run here: its schema engine is a download these machines cannot reach.
//
// Difference from Prisma: each migration runs in one transaction together with its booking
// row, so a crash mid-migration leaves nothing behind and is simply retried. A migration that
// fails with an SQL error is rolled back and booked as failed (finished_at null, logs set),
// which blocks further runs until someone resolves it, as with Prisma.
import { repositoryDir } from '../package-assets.js';
import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, runMigrations as runGraphileWorkerMigrations } from 'graphile-worker';
import pg from 'pg';
import { coerceError } from '../errors.js';

/** `<repo>/prisma/migrations`, found from this file (server/src/db), not from the working directory. */
export const MIGRATIONS_DIR = repositoryDir('prisma/migrations', 'migrations');

/** Prisma Migrate's advisory lock key; taking the same one serialises us with `prisma migrate` too. */
const MIGRATE_LOCK_KEY = 72707369;

// The DDL the Prisma schema engine uses for PostgreSQL.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  readonly migration: string;
  constructor(migration: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (msg: string) => void;
}

interface LocalMigration {
  name: string;
  script: string;
}

interface BookedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  logs: string | null;
}

export async function migrate(url: string, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const dir = opts.migrationsDir ?? MIGRATIONS_DIR;
  const log = opts.log ?? (() => {});
  const local = await readMigrations(dir);
  const applied: string[] = [];

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATE_LOCK_KEY]);
    if (!rows[0]?.locked) {
      log('waiting for another migrator to finish (advisory lock 72707369)');
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    }
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const booked = (
        await client.query<BookedMigration>(
          'SELECT migration_name, checksum, finished_at, rolled_back_at, started_at, logs FROM _prisma_migrations ORDER BY started_at',
        )
      ).rows.filter((row) => row.rolled_back_at === null);

      checkBooked(local, booked, dir, log);
      const done = new Set(booked.filter((row) => row.finished_at !== null).map((row) => row.migration_name));
      for (const migration of local) {
        if (done.has(migration.name)) continue;
        log(`applying migration ${migration.name}`);
        await applyMigration(client, migration, dir);
        applied.push(migration.name);
      }

      await runGraphileWorkerMigrations({
        connectionString: url,
        logger: new Logger(() => (level, message) => log(`graphile-worker ${level}: ${message}`)),
      });
    } finally {
      // Ending the session releases the lock too, should the connection be broken.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
  if (applied.length === 0) log('database schema is up to date');
  return { applied };
}

/** Refuses to go on when history was rewritten or a previous attempt failed. */
function checkBooked(local: LocalMigration[], booked: BookedMigration[], dir: string, log: (msg: string) => void): void {
  const byName = new Map(local.map((m) => [m.name, m]));
  for (const row of booked) {
    const migration = byName.get(row.migration_name);
    const file = path.join(dir, row.migration_name, 'migration.sql');
    if (row.finished_at === null) {
      throw new MigrationError(
        row.migration_name,
        `Migration ${row.migration_name} failed when it was applied at ${row.started_at.toISOString()}` +
          (row.logs ? `:\n${row.logs}\n` : '. ') +
          `Its transaction was rolled back, so the database is as before it. Fix ${file}, then mark the attempt ` +
          `as rolled back (npx prisma migrate resolve --rolled-back ${row.migration_name}, or ` +
          `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${row.migration_name}' AND finished_at IS NULL) and start again.`,
      );
    }
    if (!migration) {
      log(`warning: migration ${row.migration_name} is applied in the database but missing from ${dir} (database newer than this code?)`);
      continue;
    }
    if (!matchesChecksum(migration.script, row.checksum)) {
      throw new MigrationError(
        row.migration_name,
        `Migration ${row.migration_name} was modified after it was applied: ${file} has checksum ` +
          `${checksum(migration.script)}, the database recorded ${row.checksum}. Applied migrations must not change: ` +
          `revert the edit and put the change in a new migration (or reset the database if it is disposable).`,
      );
    }
  }
}

/** How the database's migrations compare with this code's (the API's `health`). */
export interface MigrationStatus {
  /** This code's migrations that the database has. */
  applied: number;
  /** This code's migrations the database lacks: the code is newer (start the platform once to apply them). */
  pending: string[];
  /** Attempts that failed and were not marked rolled back: migrating is blocked until someone resolves them. */
  failed: string[];
  /** Migrations the database has that this code does not know: the database is newer than the code. */
  unknown: string[];
}

// The migrations ship with the code: their names are read once per process and folder.
const localNames = new Map<string, Promise<string[]>>();

/** Compares the migrations booked in `_prisma_migrations` with those in `dir`, without changing anything. */
export async function migrationStatus(db: Pick<pg.Pool, 'query'>, dir: string = MIGRATIONS_DIR): Promise<MigrationStatus> {
  let names = localNames.get(dir);
  if (!names) {
    names = readMigrations(dir).then((migrations) => migrations.map((m) => m.name));
    names.catch(() => localNames.delete(dir));
    localNames.set(dir, names);
  }
  const local = await names;
  const { rows } = await db.query<{ migration_name: string; finished: boolean }>(
    'SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations WHERE rolled_back_at IS NULL',
  );
  const done = new Set(rows.filter((row) => row.finished).map((row) => row.migration_name));
  const known = new Set(local);
  return {
    applied: local.filter((name) => done.has(name)).length,
    pending: local.filter((name) => !done.has(name)),
    failed: rows.filter((row) => !row.finished).map((row) => row.migration_name),
    unknown: [...done].filter((name) => !known.has(name)).sort(),
  };
}

async function applyMigration(client: pg.Client, migration: LocalMigration, dir: string): Promise<void> {
  const id = randomUUID();
  const sum = checksum(migration.script);
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())', [
      id,
      sum,
      migration.name,
    ]);
    // No parameters: node-postgres uses the simple protocol, which runs a multi-statement script.
    await client.query(migration.script);
    await client.query(
      'UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (e) {
    const err = coerceError(e);
    await client.query('ROLLBACK').catch(() => undefined);
    const where = lineOf(migration.script, (err as { position?: string }).position);
    const logs = `${err.message}${where ? ` (line ${where})` : ''}`;
    await client
      .query('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, logs) VALUES ($1, $2, $3, now(), $4)', [
        id,
        sum,
        migration.name,
        logs,
      ])
      .catch(() => undefined); // best effort: the connection may be gone
    throw new MigrationError(
      migration.name,
      `Migration ${migration.name} failed and was rolled back: ${logs}. Fix ${path.join(dir, migration.name, 'migration.sql')}.`,
      { cause: err },
    );
  }
}

async function readMigrations(dir: string): Promise<LocalMigration[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`Cannot read the migrations directory ${dir}: ${coerceError(e).message}`, { cause: e });
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const file = path.join(dir, name, 'migration.sql');
    const script = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (script === undefined) throw new Error(`Migration directory ${path.join(dir, name)} has no migration.sql.`);
    migrations.push({ name, script });
  }
  return migrations;
}

/** sha256 hex of the script, as Prisma records it. */
export function checksum(script: string): string {
  return createHash('sha256').update(script).digest('hex');
}

/** Like Prisma, accept the same script with other line endings (git may convert them). */
function matchesChecksum(script: string, recorded: string): boolean {
  const lf = script.replaceAll('\r\n', '\n');
  return [script, lf, lf.replaceAll('\n', '\r\n')].some((variant) => checksum(variant) === recorded);
}

function lineOf(script: string, position: string | undefined): number | undefined {
  const offset = Number(position);
  if (!Number.isInteger(offset) || offset < 1) return undefined;
  return script.slice(0, offset - 1).split('\n').length;
}
