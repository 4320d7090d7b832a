// The SQL statements each main operation of the API issues, counted and snapshotted: an N+1
// (a statement per DAG, run, instance or try) fails here. Every operation runs twice, over a
// small world (3-task DAGs, 2 runs each) and a large one (41 and 1,000-instance runs, 6 runs
// each), and must issue the same statements in both. Each request gets a fresh pool, so the
// structures' cache starts cold and its reads are counted too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createApi } from '../server/src/api/server.js';
import { createPool } from '../server/src/db/pool.js';
import { createPrisma, type Db } from '../server/src/db/prisma.js';
import { platformRunning, type TestPlatform } from './support/platform.js';
import { seedDags } from '../bench/dag-list.js';

const DAGS = {
  // Small: three tasks in a line, in a group, with owners.
  'small.ts': `import { context, dag, group, task } from '@updraft/sdk';
const say = task('say', (s: string) => { context().log.info(s); return s; });
export default dag({ id: 'small', defaultArgs: { owner: 'ana' } }, () => { group('g', () => say(say(say('hi')))); });`,
  // Large: 40 parallel tasks and a join, and a task mapped over 1,000 items.
  'large.ts': `import { context, dag, task } from '@updraft/sdk';
const leaf = task('leaf', (i: number) => { context().log.info('leaf ' + i); return i; });
const sum = task('sum', (...xs: number[]) => { context().log.info('sum of ' + xs.length); return xs.reduce((a, b) => a + b, 0); });
const list = task('list', () => Array.from({ length: 1000 }, (_, i) => i));
const echo = task('echo', (n: number) => { context().log.info('echo ' + n); return n; });
export default dag({ id: 'large', defaultArgs: { owner: 'bo' } }, () => { sum(...Array.from({ length: 40 }, (_, i) => leaf(i))); echo.map(list()); });`,
};

/** The operations a dashboard and a script run most, by name. `$dagId` and `$runId` are filled in. */
const OPERATIONS: Record<string, string> = {
  'DAG list with recent runs': `query { dags(first: 50) { edges { node { id owners nextRunAt paused tags
    tasks { id groupId upstreamIds } latestVersion { versionNumber createdAt } importError { message }
    runs(first: 5) { edges { node { id state startedAt endedAt } } } } } } }`,
  'DAG page': `query ($dagId: ID!) { dag(id: $dagId) { id description owners paramsSchema edges { upstreamId downstreamId } groups { id taskIds }
    versions(first: 5) { edges { node { versionNumber sourceCode tasks { id } } } } } }`,
  'runs of a DAG, filtered, with one task each': `query ($dagId: String!, $taskId: String!) { dagRuns(first: 25, dagId: $dagId, states: [success, failed]) {
    edges { node { id runId state durationMs dag { id } dagVersion { versionNumber } taskInstance(taskId: $taskId) { state } } } } }`,
  'run page: first 100 task instances with tries and log tails': `query ($runId: ID!) { dagRun(id: $runId) { id state conf
    taskInstances(first: 100) { pageInfo { hasNextPage endCursor } edges { node { taskId mapIndex state durationMs returnValue
      xcoms { key sizeBytes } tries { tryNumber state durationMs errorName logs(last: 3) { edges { node { seq message } } } } } } } } }`,
  'failed instances of a run': `query ($runId: ID!) { dagRun(id: $runId) { taskInstances(first: 100, states: [failed, upstream_failed]) { edges { node { taskId } } } } }`,
  'one try’s log, a page at a time': `query ($runId: ID!, $taskId: String!) { dagRun(id: $runId) { taskInstance(taskId: $taskId) { tries { logs(first: 100) { edges { cursor node { seq level message loggedAt } } } } } } }`,
  'grid of the last 25 runs': `query ($dagId: ID!) { dagGrid(dagId: $dagId, runs: 25) { runs { id state logicalDate }
    rows(first: 100) { pageInfo { hasNextPage } edges { node { task { id groupId } cells { dagRunId state instances counts { state count } } } } } } }`,
  'workers and health': `query { workers(first: 20) { edges { node { id alive runningTryIds } } } health { status migrations { current } schedulers { alive } workers { alive } } }`,
};

let platform: TestPlatform;
let prisma: Db;
let statements: string[];
const worlds = { small: { dagId: 'small', runId: '', taskId: 'g.say__2' }, large: { dagId: 'large', runId: '', taskId: 'sum' } };

beforeAll(async () => {
  platform = await platformRunning(DAGS, 8);
  statements = [];
  prisma = createPrisma(platform.db.url, { onQuery: (sql) => statements.push(shape(sql)) });
  for (const [world, runs] of [['small', 2], ['large', 6]] as const) {
    for (let i = 0; i < runs; i++) {
      const id = await platform.trigger(worlds[world].dagId);
      expect(await platform.waitForRun(id, 60_000)).toBe('success');
      worlds[world].runId = String(id);
    }
  }
}, 180_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await platform?.close();
});

/** Runs one operation against a fresh API (a cold structures' cache) and returns the statements it issued. */
async function statementsOf(query: string, world: keyof typeof worlds): Promise<string[]> {
  const pool = tracedPool();
  try {
    const api = createApi({ prisma, pool });
    statements.length = 0;
    const variables = Object.fromEntries(Object.entries(worlds[world]).filter(([name]) => query.includes(`$${name}`)));
    const response = await api.fetch('http://test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { errors?: unknown };
    expect(body.errors).toBeUndefined();
    return [...statements];
  } finally {
    await pool.end();
  }
}

/** A pool whose statements (the executor's named ones, read by the API for structures and health) are recorded too. */
function tracedPool(): pg.Pool {
  const pool = createPool(platform.db.url, { max: 4, onError: () => undefined });
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    const config = args[0] as string | { name?: string; text?: string };
    statements.push(typeof config === 'string' ? shape(config) : config.name ? `${config.name.replace(/^updraft_/, '')} (named)` : shape(config.text ?? ''));
    return query(...args);
  };
  return pool;
}

/** A statement as its verb and the tables it reads: `SELECT task_instance, task_try`. */
function shape(sql: string): string {
  const verb = sql.trim().split(/\s+/)[0]!.toUpperCase();
  const tables = [...sql.matchAll(/\b(?:FROM|JOIN)\s+(?:"public"\.)?"?([a-z_]+)(?![a-z_])"?(?!\s*\()/gi)].map((m) => m[1]!).filter((t) => !/^(LATERAL|unnest)$/i.test(t));
  return `${verb} ${[...new Set(tables)].join(', ')}`;
}

/** Statements of one request in a stable order: those a request issues concurrently arrive in any order. */
const sorted = (list: string[]) => [...list].sort();

describe('SQL statements per operation', () => {
  it.each(Object.keys(OPERATIONS))('%s: the same statements for 2 runs of 3 tasks and 6 runs of 1,042 instances', async (name) => {
    const small = await statementsOf(OPERATIONS[name]!, 'small');
    const large = await statementsOf(OPERATIONS[name]!, 'large');
    expect(sorted(large)).toEqual(sorted(small));
  });

  // The shapes, so that a change in what an operation reads shows in review.
  it('snapshots each operation’s statements', async () => {
    const all: Record<string, string[]> = {};
    for (const name of Object.keys(OPERATIONS)) all[name] = sorted(await statementsOf(OPERATIONS[name]!, 'large'));
    expect(all).toMatchInlineSnapshot(`
      {
        "DAG list with recent runs": [
          "SELECT dag",
          "SELECT dag_run",
          "SELECT dag_run",
          "SELECT dag_version",
          "SELECT dag_version",
          "SELECT import_error",
          "select_dag_versions (named)",
        ],
        "DAG page": [
          "SELECT dag",
          "SELECT dag_version",
          "SELECT dag_version",
          "SELECT dag_version",
          "select_dag_versions (named)",
          "select_dag_versions (named)",
        ],
        "failed instances of a run": [
          "SELECT dag_run",
          "SELECT task_instance",
        ],
        "grid of the last 25 runs": [
          "SELECT dag_run",
          "SELECT dag_version, dag_run, dag",
          "SELECT task_instance",
          "select_dag_versions (named)",
        ],
        "one try’s log, a page at a time": [
          "SELECT dag_run",
          "SELECT task_instance",
          "SELECT task_log",
          "SELECT task_log",
          "SELECT task_try",
        ],
        "run page: first 100 task instances with tries and log tails": [
          "SELECT dag_run",
          "SELECT task_instance",
          "SELECT task_instance",
          "SELECT task_instance",
          "SELECT task_log",
          "SELECT task_log",
          "SELECT task_try",
          "SELECT xcom",
          "SELECT xcom",
        ],
        "runs of a DAG, filtered, with one task each": [
          "SELECT dag",
          "SELECT dag_run",
          "SELECT dag_version",
          "SELECT task_instance",
        ],
        "workers and health": [
          "SELECT _prisma_migrations",
          "SELECT worker",
          "count_live_schedulers (named)",
          "count_live_workers (named)",
        ],
      }
    `);
  });

  it('reads only the columns a query selects: no run conf, no structure, no source text unless asked for', async () => {
    const sqlOf = async (query: string) => {
      const traced: string[] = [];
      const own = createPrisma(platform.db.url, { onQuery: (sql) => traced.push(sql) });
      try {
        const api = createApi({ prisma: own, pool: platform.pool });
        const response = await api.fetch('http://test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
        return traced.join('\n');
      } finally {
        await own.$disconnect();
      }
    };
    const run = worlds.small.runId;
    expect(await sqlOf(`{ dagRun(id: "${run}") { id state } }`)).not.toMatch(/"conf"/);
    expect(await sqlOf(`{ dagRun(id: "${run}") { id conf } }`)).toMatch(/"conf"/);
    expect(await sqlOf(`{ dagRuns(first: 5) { edges { node { id runId dag { id } } } } }`)).not.toMatch(/"conf"/);
    expect(await sqlOf(`{ dags(first: 5) { edges { node { id paused versions(first: 2) { edges { node { versionNumber } } } } } } }`)).not.toMatch(/"structure"|"source_code"/);
    expect(await sqlOf(`{ dag(id: "small") { versions(first: 1) { edges { node { sourceCode } } } } }`)).toMatch(/"source_code"/);
  });

  // Longer than the structures' cache (256): the ones read in one statement must be used as read,
  // not read back one by one after the cache evicted them (1,000 statements for 1,000 DAGs).
  it('reads the structures of 400 DAGs in one statement', async () => {
    await seedDags(platform.pool, 'small', { count: 400, runsEach: 1 });
    try {
      const list = await statementsOf(`query { dags(first: 400) { edges { node { id tasks { id } } } } }`, 'small');
      expect(list.filter((s) => s.includes('select_dag_version'))).toEqual(['select_dag_versions (named)']);
    } finally {
      await platform.pool.query(`DELETE FROM dag WHERE id LIKE 'bench\\_listed\\_%'`);
    }
  });
});
