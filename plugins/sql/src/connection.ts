import { defineConnectionType, type TaskConnection } from '@updraft/sdk';
import pg from 'pg';

/** A PostgreSQL database (Airflow's `postgres` connection): `schema` is the database name, `extra.sslmode` as libpq reads it. */
export const postgresConnection = defineConnectionType({
  type: 'postgres',
  label: 'PostgreSQL',
  description: 'A PostgreSQL database.',
  defaultPort: 5432,
  fields: {
    host: { label: 'Host', required: true },
    port: { label: 'Port' },
    login: { label: 'User' },
    password: { label: 'Password' },
    schema: { label: 'Database' },
    extra: {
      sslmode: { label: 'SSL mode', description: 'disable, require, verify-ca or verify-full.' },
      application_name: { label: 'Application name' },
    },
  },
  test: async (conn, { signal }) => {
    const client = openClient(conn, { statementTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
    const onAbort = () => client.end().catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      const { rows } = await client.query<{ version: string; user: string; db: string }>('select current_setting($1) as version, current_user as user, current_database() as db', ['server_version']);
      const row = rows[0]!;
      return { ok: true, message: `connected to PostgreSQL ${row.version}, database "${row.db}", as "${row.user}"` };
    } finally {
      signal.removeEventListener('abort', onAbort);
      await client.end().catch(() => undefined);
    }
  },
});

/** A client (not yet connected) for a postgres connection. */
export function openClient(conn: TaskConnection, limits: { statementTimeoutMs: number; connectTimeoutMs: number }): pg.Client {
  const sslmode = typeof conn.extra.sslmode === 'string' ? conn.extra.sslmode : undefined;
  return new pg.Client({
    host: conn.host ?? undefined,
    port: conn.port ?? 5432,
    user: conn.login ?? undefined,
    password: conn.password ?? undefined,
    database: conn.schema ?? undefined,
    ssl: sslmode === undefined || sslmode === 'disable' || sslmode === 'prefer' || sslmode === 'allow' ? undefined : { rejectUnauthorized: sslmode === 'verify-full' || sslmode === 'verify-ca' },
    application_name: typeof conn.extra.application_name === 'string' ? conn.extra.application_name : 'updraft-plugin-sql',
    statement_timeout: limits.statementTimeoutMs,
    connectionTimeoutMillis: limits.connectTimeoutMs,
  });
}
