// A database of its own for a test file: a clone of the migrated template that
// test/support/global-setup.ts prepared (CREATE DATABASE ... TEMPLATE takes milliseconds).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { withClient } from '../../server/src/db/client.js';
import { type Db, createPrisma } from '../../server/src/db/prisma.js';
import { databaseUrl } from './db-url.js';

export interface TestDatabase {
  name: string;
  url: string;
  prisma: Db;
  /** Disconnects `prisma` and drops the database (other sessions on it are terminated). */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database, migrated unless `empty` is set.
 * Typical use: `beforeAll(async () => { db = await createTestDatabase() })`, `afterAll(() => db.drop())`.
 */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('databaseAdminUrl');
  const name = `${inject('databasePrefix')}${process.pid}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, async (c) => {
    const template = opts.empty ? '' : ` TEMPLATE ${c.escapeIdentifier(inject('databaseTemplate'))}`;
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}${template}`);
  });
  const url = databaseUrl(adminUrl, name);
  const prisma = createPrisma(url);
  let dropped = false;
  return {
    name,
    url,
    prisma,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await prisma.$disconnect();
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

