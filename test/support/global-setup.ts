// Runs once per `vitest` invocation: provides a PostgreSQL server (DATABASE_URL, or an
// embedded one in a throwaway directory) and a migrated template database that every test
// file clones (test/support/db.ts), so files are isolated and need not migrate themselves.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../server/src/db/embedded.js';
import { withClient } from '../../server/src/db/client.js';
import { migrate } from '../../server/src/db/migrate.js';
import { databaseUrl } from './db-url.js';
import { TEST_SCRATCH } from './paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL to issue CREATE/DROP DATABASE from (never dropped itself). */
    databaseAdminUrl: string;
    /** The migrated database that test databases are cloned from. */
    databaseTemplate: string;
    /** Every database this run creates starts with it; teardown drops leftovers. */
    databasePrefix: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const prefix = `updraft_t${process.pid}_`;
  const template = `${prefix}template`;
  let server: EmbeddedServer | undefined;
  let tmpDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-test-'));
    await fs.chmod(tmpDir, 0o755); // when we are root, PostgreSQL runs as "postgres" and must enter it
    server = await startEmbeddedPostgres({
      dataDir: path.join(tmpDir, 'pgdata'),
      // Durability is pointless for a cluster deleted after the run.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    adminUrl = server.url;
  }

  const teardown = async () => {
    await fs.rm(TEST_SCRATCH, { recursive: true, force: true });
    if (server) {
      await server.stop();
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
    } else if (adminUrl) {
      await dropDatabases(adminUrl, prefix);
    }
  };

  try {
    await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(template)}`));
    await migrate(databaseUrl(adminUrl, template));
    // Nobody may connect to the template: a connected session would make cloning it fail.
    await withClient(adminUrl, (c) =>
      c.query(`ALTER DATABASE ${c.escapeIdentifier(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`),
    );
  } catch (e) {
    await teardown();
    throw e;
  }

  project.provide('databaseAdminUrl', adminUrl);
  project.provide('databaseTemplate', template);
  project.provide('databasePrefix', prefix);
  return teardown;
}

async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [prefix],
    );
    for (const { datname } of rows) {
      const name = c.escapeIdentifier(datname);
      await c.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE false`);
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
}
