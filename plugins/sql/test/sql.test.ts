// The SQL operator and sensor against the real PostgreSQL the test harness runs, through a
// connection stored encrypted (upsertConnection): parameterised values that look like SQL stay
// values, the row cap, a statement past its timeout, a sensor waiting for a row to appear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, platformRunning, type TestPlatform } from '../../../test/support/platform.js';
import { returnValues, storedTries } from '../../../test/support/tries.js';

const DAGS = {
  'sql_dags.ts': `
import { context, dag, task } from '@updraft/sdk';
import { sqlQuery, sqlSensor } from '@updraft/plugin-sql';

const insertParams = task('insert_params', () => ({
  connection: 'warehouse',
  sql: 'insert into orders (customer, total) values ($1, $2), ($3, $4) returning id, customer',
  parameters: [String(context().conf.customer), 10.5, 'bob', 20],
}));

export const orders = dag({ id: 'orders' }, () => {
  const inserted = sqlQuery('insert')(insertParams());
  const counted = sqlQuery('count')({ connection: 'warehouse', sql: 'select count(*)::int as n, sum(total)::float as total from orders', output: 'first_row' }).after(inserted);
  sqlQuery('update')({ connection: 'warehouse', sql: 'update orders set total = total + 1 where customer = $1', parameters: ['bob'], output: 'row_count' }).after(counted);
  sqlQuery('series_capped')({ connection: 'warehouse', sql: 'select g as n from generate_series(1, 1000000) g', maxRows: 5, overflow: 'truncate' });
  sqlQuery({ id: 'series_over', retries: 0 })({ connection: 'warehouse', sql: 'select g as n from generate_series(1, 1000000) g', maxRows: 100 });
  sqlQuery({ id: 'slow', retries: 0 })({ connection: 'warehouse', sql: 'select pg_sleep(30)', timeout: '300ms' });
  sqlQuery({ id: 'broken', retries: 0 })({ connection: 'warehouse', sql: 'select * from no_such_table' });
});

export const waiting = dag({ id: 'waiting_for_row' }, () => {
  sqlSensor({ id: 'signal', interval: '100ms', timeout: '20s' })({ connection: 'warehouse', sql: 'select exists (select 1 from signals where name = $1) as ready, now() as at', parameters: ['go'] });
});
`,
};

let platform: TestPlatform & { dagsDir: string };
let password: string;

beforeAll(async () => {
  platform = await platformRunning(DAGS, 8);
  await platform.pool.query('create table orders (id serial primary key, customer text not null, total numeric not null); create table signals (name text)');
  const url = new URL(platform.db.url);
  password = decodeURIComponent(url.password);
  await graphql(platform, `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created } }`, {
    input: { id: 'warehouse', type: 'postgres', host: url.hostname, port: Number(url.port), login: decodeURIComponent(url.username), password, schema: url.pathname.slice(1) },
  });
});
afterAll(() => platform?.close());

describe('@updraft/plugin-sql', () => {
  it('runs parameterised statements (SQL in a value stays a value), publishes rows, counts and first rows, and caps rows', async () => {
    const customer = "alice'); drop table orders; --";
    const runId = await platform.trigger('orders', { customer });
    expect(await platform.waitForRun(runId, 30_000)).toBe('failed'); // series_over, slow and broken fail
    const values = await returnValues(platform, runId);
    expect(values.insert).toEqual([
      { id: 1, customer },
      { id: 2, customer: 'bob' },
    ]);
    expect(values.count).toEqual({ n: 2, total: 30.5 });
    expect(values.update).toBe(1);
    expect(values.series_capped).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    const { rows } = await platform.pool.query('select customer from orders order by id');
    expect(rows.map((r) => r.customer)).toEqual([customer, 'bob']);

    const [over] = await storedTries(platform, runId, 'series_over');
    expect(over!.error).toMatchObject({ name: 'TooManyRows', message: `task "series_over": the query returned more than maxRows (100) rows; add a LIMIT, raise maxRows, or set overflow: 'truncate'` });
    const [slow] = await storedTries(platform, runId, 'slow');
    expect(slow!.error!.message).toBe('canceling statement due to statement timeout');
    const [broken] = await storedTries(platform, runId, 'broken');
    expect(broken!.error!.message).toBe('relation "no_such_table" does not exist');
    const everything = JSON.stringify(await Promise.all(['insert', 'count', 'slow', 'broken'].map((id) => storedTries(platform, runId, id))));
    expect(everything).not.toContain(password);
  });

  it('senses until a query’s first cell is true, and publishes that row', async () => {
    const runId = await platform.trigger('waiting_for_row');
    await new Promise((r) => setTimeout(r, 800));
    const [early] = await storedTries(platform, runId, 'signal');
    expect(early?.state).toBe('running');
    await platform.pool.query(`insert into signals values ('go')`);
    expect(await platform.waitForRun(runId, 20_000)).toBe('success');
    const values = await returnValues(platform, runId);
    expect(values.signal).toMatchObject({ ready: true, at: expect.any(Date) }); // XCom keeps a Date a Date
  });
});
