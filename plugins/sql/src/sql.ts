// The SQL operator (Airflow's SQLExecuteQueryOperator) and sensor (SqlSensor) over PostgreSQL.
// Queries are parameterised ($1, $2…): values never become SQL text. Rows are read through a
// cursor, so a query returning millions of rows costs at most `maxRows + 1` of them.
import { DURATION_PATTERN, defineOperator, defineSensor, toMilliseconds, type TaskContext } from '@updraft/sdk';
import Cursor from 'pg-cursor';
import { z } from 'zod';
import { openClient, postgresConnection } from './connection.js';

/** A query returned more rows than `maxRows` (with `overflow: 'fail'`). */
export class TooManyRows extends Error {
  override name = 'TooManyRows';
}

const duration = z.union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'a duration such as "30s", "5m" or a number of milliseconds')]);
const json: z.ZodType<unknown> = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

const queryFields = {
  /** A `postgres` connection's id. */
  connection: z.string().min(1),
  /** One SQL statement; values go in `parameters` as `$1`, `$2`… */
  sql: z.string().min(1, 'a SQL statement').max(1024 * 1024),
  /** The values of `$1`, `$2`…: sent apart from the SQL text, never spliced into it. */
  parameters: z.array(json).max(10_000).default([]),
  /** The statement's time limit (PostgreSQL's statement_timeout). Default `"5m"`. */
  timeout: duration.default('5m'),
};

/** The SQL operator's params. */
export const SqlQueryParams = z.strictObject({
  ...queryFields,
  /** Most rows published. Default 1,000; at most 100,000. */
  maxRows: z.number().int().min(0).max(100_000).default(1_000),
  /** More rows than `maxRows`: fail (default) or publish the first `maxRows` and log a warning. */
  overflow: z.enum(['fail', 'truncate']).default('fail'),
  /** What the node publishes: the rows (objects by column name), the first row or null, the number of rows the statement touched, or nothing. */
  output: z.enum(['rows', 'first_row', 'row_count', 'none']).default('rows'),
});
export type SqlQueryParams = z.input<typeof SqlQueryParams>;

/** The SQL sensor's params: done when the first column of the first row is truthy (Airflow's SqlSensor). */
export const SqlSensorParams = z.strictObject(queryFields);
export type SqlSensorParams = z.input<typeof SqlSensorParams>;

/**
 * Runs one statement and publishes its rows.
 *
 * ```ts
 * sqlQuery('recent_orders')({ connection: 'warehouse', sql: 'select id, total from orders where day = $1', parameters: ['2026-12-01'], maxRows: 500 });
 * ```
 */
export const sqlQuery = defineOperator({
  name: 'sql_query',
  description: 'Runs one parameterised SQL statement on PostgreSQL; publishes its rows (capped).',
  params: SqlQueryParams,
  run: async (params, ctx) => {
    const { rows, rowCount, more } = await execute(params, params.output === 'row_count' || params.output === 'none' ? 0 : params.output === 'first_row' ? 1 : params.maxRows, ctx);
    if (more && params.output === 'rows') {
      if (params.overflow === 'fail') throw new TooManyRows(`task "${ctx.taskId}": the query returned more than maxRows (${params.maxRows}) rows; add a LIMIT, raise maxRows, or set overflow: 'truncate'`);
      ctx.log.warn(`published the first ${params.maxRows} rows; the query returned more (overflow: 'truncate')`);
    }
    switch (params.output) {
      case 'rows':
        return rows;
      case 'first_row':
        return rows[0] ?? null;
      case 'row_count':
        return rowCount;
      case 'none':
        return null;
    }
  },
});

/**
 * Runs a query every `interval` until the first column of its first row is truthy; publishes that row.
 *
 * ```ts
 * sqlSensor({ id: 'partition_loaded', mode: 'reschedule', interval: '5m' })({ connection: 'warehouse', sql: 'select count(*) > 0 from loads where day = $1', parameters: ['2026-12-01'] });
 * ```
 */
export const sqlSensor = defineSensor({
  name: 'sql_sensor',
  description: 'Runs a query until the first column of its first row is truthy.',
  params: SqlSensorParams,
  poke: async (params, ctx) => {
    const { rows } = await execute(params, 1, ctx);
    const first = rows[0];
    const cell = first ? Object.values(first)[0] : undefined;
    const done = Boolean(cell) && cell !== '0' && cell !== 'f';
    ctx.log.info(done ? 'condition met' : `not yet (first cell: ${JSON.stringify(cell ?? null)})`);
    return done ? first! : false;
  },
});

/** Runs the statement; reads at most `limit` rows (and one more, to tell whether there were more). */
async function execute(params: z.output<typeof SqlSensorParams>, limit: number, ctx: TaskContext): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null; more: boolean }> {
  const conn = await postgresConnection.get(params.connection);
  const timeoutMs = toMilliseconds(params.timeout);
  const client = openClient(conn, { statementTimeoutMs: Math.max(1, Math.round(timeoutMs)), connectTimeoutMs: Math.min(30_000, Math.max(1_000, timeoutMs)) });
  // An aborted try (its own timeout, a shutdown) closes the connection; PostgreSQL ends the statement with it.
  const onAbort = () => client.end().catch(() => undefined);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  client.on('error', () => undefined);
  const started = Date.now();
  try {
    await client.connect();
    if (limit === 0) {
      const result = await client.query(params.sql, params.parameters);
      ctx.log.info(`${result.command ?? 'statement'}: ${result.rowCount ?? 0} row(s) in ${Date.now() - started} ms`);
      return { rows: [], rowCount: result.rowCount, more: false };
    }
    const cursor = client.query(new Cursor<Record<string, unknown>>(params.sql, params.parameters));
    const rows = await cursor.read(limit + 1);
    await cursor.close();
    const more = rows.length > limit;
    ctx.log.info(`${rows.length > limit ? `more than ${limit}` : rows.length} row(s) in ${Date.now() - started} ms`);
    return { rows: rows.slice(0, limit), rowCount: null, more };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}
