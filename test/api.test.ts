import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../server/src/api/server.js';
import { createTestPlatform, REPO_ROOT, type TestPlatform } from './support/platform.js';
import { EXAMPLE_DAG_IDS } from './support/paths.js';

// The operations exactly as the README and the issue write them.
const LIST_DAGS = `query { dags(first: 50) { edges { node { id paused schedule tasks { id upstreamIds } } } } }`;
const TRIGGER = `mutation { triggerDagRun(input: { dagId: "hello_world", conf: {} }) { dagRun { id state } } }`;
const RUN = `query ($id: ID!) { dagRun(id: $id) { id dagId state startedAt endedAt taskInstances(first: 100) { edges { node { taskId mapIndex state tryNumber returnValue } } } } }`;

describe('GraphQL API', () => {
  let platform: TestPlatform;
  let graphql: (query: string, variables?: Record<string, unknown>) => Promise<{ status: number; body: any }>;

  beforeAll(async () => {
    platform = await createTestPlatform();
    await platform.deploy(path.join(REPO_ROOT, 'examples/dags'));
    await platform.startWorker();
    const api = createApi({ prisma: platform.db.prisma, pool: platform.pool });
    graphql = async (query, variables) => {
      const response = await api.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json() };
    };
  });
  afterAll(() => platform.close());

  it('lists DAGs with their tasks, triggers hello_world and shows every task instance', async () => {
    const dags = await graphql(LIST_DAGS);
    expect(dags.body.data.dags.edges.map((e: any) => e.node.id)).toEqual(EXAMPLE_DAG_IDS);
    expect(dags.body.data.dags.edges[3].node).toEqual({
      id: 'hello_world',
      paused: false,
      schedule: null,
      tasks: [
        { id: 'make_hi', upstreamIds: [] },
        { id: 'ready_hi', upstreamIds: ['make_hi'] },
        { id: 'say_hi', upstreamIds: ['ready_hi'] },
      ],
    });
    expect(dags.body.data.dags.edges[2].node).toMatchObject({ id: 'daily_report', schedule: '@daily' });

    const triggered = await graphql(TRIGGER);
    const { id, state } = triggered.body.data.triggerDagRun.dagRun;
    expect(state).toBe('running');
    await platform.waitForRun(Number(id));

    const run = (await graphql(RUN, { id })).body.data.dagRun;
    expect(run).toMatchObject({ id, dagId: 'hello_world', state: 'success' });
    expect(Date.parse(run.endedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    expect(run.taskInstances.edges.map((e: any) => e.node)).toEqual([
      { taskId: 'make_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: 'hi' },
      { taskId: 'ready_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: 'hi, ready to fly!' },
      { taskId: 'say_hi', mapIndex: -1, state: 'success', tryNumber: 1, returnValue: null },
    ]);
  });

  it('lists running workers', async () => {
    const { workers } = (await graphql(`{ workers(first: 10) { edges { node { id pid concurrency stoppedAt } } } }`)).body.data;
    expect(workers.edges).toEqual([{ node: { id: expect.stringContaining(String(process.pid)), pid: process.pid, concurrency: 4, stoppedAt: null } }]);
  });

  it('pages through task instances with cursors', async () => {
    const { id } = (await graphql(TRIGGER)).body.data.triggerDagRun.dagRun;
    const page = async (after?: string) =>
      (await graphql(`query ($id: ID!, $after: String) { dagRun(id: $id) { taskInstances(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { taskId } } } } }`, { id, after }))
        .body.data.dagRun.taskInstances;
    const first = await page();
    expect(first.edges.map((e: any) => e.node.taskId)).toEqual(['make_hi', 'ready_hi']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.edges.map((e: any) => e.node.taskId)).toEqual(['say_hi']);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('pauses a DAG, refuses to trigger it while paused, and unpauses it', async () => {
    const pause = `mutation ($paused: Boolean!) { setDagPaused(input: { dagId: "hello_world", paused: $paused }) { id paused } }`;
    expect((await graphql(pause, { paused: true })).body.data.setDagPaused).toEqual({ id: 'hello_world', paused: true });
    const refused = await graphql(TRIGGER);
    expect(refused.body.errors[0]).toMatchObject({ message: 'DAG "hello_world" is paused; unpause it to trigger runs', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await graphql(pause, { paused: false })).body.data.setDagPaused.paused).toBe(false);
    expect((await graphql(TRIGGER)).body.data.triggerDagRun.dagRun.state).toBe('running');
    const unknown = await graphql(`mutation { setDagPaused(input: { dagId: "nope", paused: true }) { id } }`);
    expect(unknown.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND for an unknown DAG or run', async () => {
    const trigger = await graphql(`mutation { triggerDagRun(input: { dagId: "nope" }) { dagRun { id } } }`);
    expect(trigger.body.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('DAG "nope" does not exist'), extensions: { code: 'NOT_FOUND' } })]);
    const run = await graphql(RUN, { id: '999999' });
    expect(run.body.errors[0]).toMatchObject({ message: 'DagRun 999999 does not exist', extensions: { code: 'NOT_FOUND' } });
  });

  it('answers BAD_USER_INPUT for invalid input', async () => {
    const conf = await graphql(`mutation { triggerDagRun(input: { dagId: "hello_world", conf: [1, 2] }) { dagRun { id } } }`);
    expect(conf.body.errors[0]).toMatchObject({ message: 'conf must be a JSON object, got an array', extensions: { code: 'BAD_USER_INPUT' } });
    const id = await graphql(RUN, { id: 'abc' });
    expect(id.body.errors[0]).toMatchObject({ message: '"abc" is not a DagRun id: ids are positive integers', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('rejects malformed requests with a message that says where', async () => {
    const syntax = await graphql(`query { dags(first: 5) { edges { node { id } }`);
    expect(syntax.body.errors[0].message).toMatch(/Syntax Error: Expected Name, found <EOF>/);
    const field = await graphql(`query { dags(first: 5) { edges { node { nosuchfield } } } }`);
    expect(field.body.errors[0].message).toBe('Cannot query field "nosuchfield" on type "Dag".');
  });

  it('masks unexpected errors', async () => {
    const broken = createApi({ prisma: platform.db.prisma, pool: { connect: () => Promise.reject(new Error('secret connection detail')) } as never });
    const response = await broken.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: TRIGGER }),
    });
    const body = await response.json();
    expect(body.errors[0].message).toBe('Unexpected error.');
    expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR'); // not SERVICE_UNAVAILABLE: the database is fine
    expect(JSON.stringify(body)).not.toContain('secret');
  });
});
