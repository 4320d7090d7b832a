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

  it('issues the same number of SQL statements whatever the number of task instances', async () => {
    const small = await statementsFor('hello_world');
    const large = await statementsFor('wide');
    expect(large).toBe(small);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(8);
  });
});
