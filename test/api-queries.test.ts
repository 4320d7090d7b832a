import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../server/src/api/server.js';
import { createPrisma, type Db } from '../server/src/db/prisma.js';
import { createTestPlatform, dagFolder, REPO_ROOT, type TestPlatform } from './support/platform.js';

// Pothos folds a whole selection into one Prisma query per root field; this catches a
// field that would query per row (N+1) by comparing a 3-task run with a 41-task run.
const RUN = `query ($id: ID!) { dagRun(id: $id) { id state dag { id tasks { id } } taskInstances(first: 100) {
  edges { node { taskId state tryNumber returnValue tries { tryNumber state error logs { message } } } } } } }`;

describe('GraphQL query count', () => {
  let platform: TestPlatform;
  let prisma: Db;
  let statements: string[];
  beforeAll(async () => {
    platform = await createTestPlatform();
    await platform.deploy(path.join(REPO_ROOT, 'examples/dags'));
    await platform.deploy(
      await dagFolder({
        'wide.ts': `import { context, dag, task } from '@updraft/sdk';
const leaf = task('leaf', (i: number) => { context().log.info('leaf ' + i); return i; });
const sum = task('sum', (...xs: number[]) => xs.reduce((a, b) => a + b, 0));
export default dag({ id: 'wide' }, () => { sum(...Array.from({ length: 40 }, (_, i) => leaf(i))); });`,
      }),
    );
    await platform.startWorker();
    statements = [];
    prisma = createPrisma(platform.db.url, { onQuery: (sql) => statements.push(sql) });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await platform.close();
  });

  async function statementsFor(dagId: string): Promise<number> {
    const id = await platform.trigger(dagId);
    expect(await platform.waitForRun(id)).toBe('success');
    const api = createApi({ prisma, pool: platform.pool });
    statements.length = 0;
    const response = await api.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: RUN, variables: { id: String(id) } }),
    });
    const body = (await response.json()) as { data: { dagRun: { taskInstances: { edges: unknown[] } } } };
    expect(body.data.dagRun.taskInstances.edges.length).toBeGreaterThan(0);
    return statements.filter((s) => /^\s*SELECT/i.test(s)).length;
  }

  async function post(query: string, variables: Record<string, unknown> = {}): Promise<any> {
    const api = createApi({ prisma, pool: platform.pool });
    statements.length = 0;
    const response = await api.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  }

  // Objects are in select mode: a query reads the columns its selection needs, so asking
  // for a run's id never loads its conf (which may be 1 MiB), nor a DAG's id its structure.
  it('reads only the columns a query selects', async () => {
    const runId = await platform.trigger('hello_world', { marker: 'm'.repeat(10) });
    expect(await platform.waitForRun(runId)).toBe('success');
    const id = String(runId);
    const sql = () => statements.join('\n');

    expect(await post(`query ($id: ID!) { dagRun(id: $id) { id state } }`, { id })).toEqual({ dagRun: { id, state: expect.any(String) } });
    expect(sql()).toMatch(/"dag_run"/);
    expect(sql()).not.toMatch(/"conf"/);
    await post(`{ dagRuns(first: 5) { edges { node { id runId dag { id } } } } }`);
    expect(sql()).toMatch(/"dag_run"/);
    expect(sql()).not.toMatch(/"conf"/);
    // The same statements carry conf when it is asked for.
    expect(await post(`query ($id: ID!) { dagRun(id: $id) { id conf } }`, { id })).toEqual({ dagRun: { id, conf: { marker: 'mmmmmmmmmm' } } });
    expect(sql()).toMatch(/"conf"/);

    await post(`{ dags(first: 5) { edges { node { id paused } } } }`);
    expect(sql()).toMatch(/"dag"/);
    expect(sql()).not.toMatch(/"structure"/);
    await post(`{ dags(first: 5) { edges { node { id tasks { id } } } } }`);
    expect(sql()).toMatch(/"structure"/);
  });

  it('issues the same number of SQL statements whatever the number of task instances', async () => {
    const small = await statementsFor('hello_world');
    const large = await statementsFor('wide');
    expect(large).toBe(small);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(8);
  });
});
