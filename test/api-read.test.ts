// The read side of the API through its handler: DAGs with their versions, structure, owners
// and next run; runs and task instances with their filters; cursor pages forward, backward
// and nested under lists; log lines by sequence and tail; the grid; workers and health; and
// BAD_USER_INPUT for every kind of bad argument.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../server/src/api/server.js';
import { createPool } from '../server/src/db/pool.js';
import { startScheduler } from '../server/src/scheduler.js';
import { platformRunning, writeDagFiles, type TestPlatform } from './support/platform.js';
import { closedPort } from './support/ports.js';

const SHAPES = `import { dag, group, task } from '@updraft/sdk';
import { z } from 'zod';
const step = task('step', () => 1);
const last = task({ id: 'last', owner: 'bo' }, () => 2);
const early = task('early', () => 0);
export default dag({ id: 'shapes', schedule: '@daily', tags: ['team-a'], defaultArgs: { owner: 'ana' }, params: z.object({ n: z.number().default(1) }) }, () => {
  // 'last' is declared before its upstream tasks: the API lists tasks upstream first (and
  // peers in declaration order).
  const end = last();
  const start = early();
  end.after(group('inner', () => step(group('deep', () => step()).output)));
  end.after(start);
});
`;

const MAPPED = `import { dag, NonRetryableError, task } from '@updraft/sdk';
const numbers = task('numbers', () => [0, 1, 2, 3, 4, 5, 6]);
const echo = task('echo', (n: number) => { if (n === 3) throw new NonRetryableError('three is bad'); return n; });
const sum = task({ id: 'sum', triggerRule: 'all_done' }, (values: number[]) => values.length);
export default dag({ id: 'mapped' }, () => { sum(echo.map(numbers())); });
`;

const LOGS = `import { context, dag, task } from '@updraft/sdk';
const chatty = task('chatty', () => { for (let i = 0; i < 250; i++) context().log.info('line ' + i); });
export default dag({ id: 'logs' }, () => { chatty(); });
`;

let platform: TestPlatform & { dagsDir: string };
let ask: (query: string, variables?: Record<string, unknown>) => Promise<{ status: number; body: any }>;
const data = async (query: string, variables?: Record<string, unknown>) => {
  const { body } = await ask(query, variables);
  expect(body.errors).toBeUndefined();
  return body.data;
};
const codeOf = async (query: string, variables?: Record<string, unknown>) => (await ask(query, variables)).body.errors?.[0]?.extensions?.code;
const nodes = (connection: { edges: Array<{ node: any }> }) => connection.edges.map((e) => e.node);
/** Ids of the runs of `dagId`, oldest first, once they ended. */
const runs: Record<string, string[]> = { mapped: [], logs: [], shapes: [] };

beforeAll(async () => {
  platform = await platformRunning({ 'shapes.ts': SHAPES, 'mapped.ts': MAPPED, 'logs.ts': LOGS });
  const api = createApi({ prisma: platform.db.prisma, pool: platform.pool });
  ask = async (query, variables) => {
    const response = await api.fetch('http://test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: await response.json() };
  };
  for (const [dagId, count] of [['mapped', 3], ['logs', 1], ['shapes', 2]] as const) {
    for (let i = 0; i < count; i++) {
      const id = await platform.trigger(dagId);
      await platform.waitForRun(id);
      runs[dagId]!.push(String(id));
    }
  }
}, 120_000);
afterAll(() => platform?.close());

describe('DAGs', () => {
  it('show their structure upstream first, with groups, edges, owners, params, tags and next run', async () => {
    const { dag } = await data(`{ dag(id: "shapes") { id tags owners nextRunAt paramsSchema
      tasks { id groupId owner upstreamIds kind triggerRule mapped } edges { upstreamId downstreamId } groups { id parentId taskIds childIds } } }`);
    expect(dag.tasks.map((t: any) => t.id)).toEqual(['early', 'inner.deep.step', 'inner.step', 'last']);
    expect(dag.tasks[1]).toEqual({ id: 'inner.deep.step', groupId: 'inner.deep', owner: 'ana', upstreamIds: [], kind: 'task', triggerRule: 'all_success', mapped: false });
    expect(dag.tasks[3]).toMatchObject({ id: 'last', groupId: null, owner: 'bo', upstreamIds: ['early', 'inner.step'] });
    expect(dag.owners).toEqual(['ana', 'bo']);
    expect(dag.edges).toEqual([
      { upstreamId: 'early', downstreamId: 'last' },
      { upstreamId: 'inner.deep.step', downstreamId: 'inner.step' },
      { upstreamId: 'inner.step', downstreamId: 'last' },
    ]);
    expect(dag.groups).toEqual([
      { id: 'inner', parentId: null, taskIds: ['inner.step'], childIds: ['inner.deep'] },
      { id: 'inner.deep', parentId: 'inner', taskIds: ['inner.deep.step'], childIds: [] },
    ]);
    expect(dag.paramsSchema).toMatchObject({ type: 'object', properties: { n: { type: 'number', default: 1 } } });
    expect(dag.tags).toEqual(['team-a']);
    // @daily without catchup, not planned by a scheduler yet: the latest day that has ended
    // (yesterday) runs at once, so its run is due since midnight, UTC.
    const midnight = new Date();
    midnight.setUTCHours(0, 0, 0, 0);
    expect(dag.nextRunAt).toBe(midnight.toISOString());
    // Paused or unscheduled: no next run.
    await data(`mutation { setDagPaused(input: { dagId: "shapes", paused: true }) { paused } }`);
    expect((await data(`{ dag(id: "shapes") { nextRunAt } }`)).dag.nextRunAt).toBeNull();
    await data(`mutation { setDagPaused(input: { dagId: "shapes", paused: false }) { paused } }`);
    expect((await data(`{ dag(id: "logs") { nextRunAt owners } }`)).dag).toEqual({ nextRunAt: null, owners: [] });
  });

  it('keep every version with its source text, newest first; a file that breaks shows its import error on its DAGs', async () => {
    const changed = MAPPED.replace("[0, 1, 2, 3, 4, 5, 6]", "[0, 1, 2, 3, 4, 5, 6, 7]").replace('sum(echo.map(numbers()));', 'echo.map(numbers());');
    await writeDagFiles(platform.dagsDir, { 'mapped.ts': changed });
    expect((await platform.deploy(platform.dagsDir)).importErrors).toEqual([]);
    const { dag } = await data(`{ dag(id: "mapped") { latestVersion { versionNumber fileName sourceCode tasks { id } }
      versions(first: 10) { edges { node { versionNumber sourceCode codeHash } } } importError { message } } }`);
    expect(dag.latestVersion).toEqual({ versionNumber: 2, fileName: 'mapped.ts', sourceCode: changed, tasks: [{ id: 'numbers' }, { id: 'echo' }] });
    expect(nodes(dag.versions).map((v: any) => [v.versionNumber, v.sourceCode])).toEqual([[2, changed], [1, MAPPED]]);
    expect(dag.importError).toBeNull();
    // The second page of versions, after the first one's cursor.
    const first = await data(`{ dag(id: "mapped") { versions(first: 1) { edges { cursor } pageInfo { hasNextPage } } } }`);
    expect(first.dag.versions.pageInfo.hasNextPage).toBe(true);
    const second = await data(`query ($after: String) { dag(id: "mapped") { versions(first: 1, after: $after) { edges { node { versionNumber } } pageInfo { hasNextPage } } } }`, {
      after: first.dag.versions.edges[0].cursor,
    });
    expect(nodes(second.dag.versions)).toEqual([{ versionNumber: 1 }]);
    expect(second.dag.versions.pageInfo.hasNextPage).toBe(false);

    await writeDagFiles(platform.dagsDir, { 'logs.ts': `${LOGS}\nthrow new Error('logs broke');\n` });
    await platform.deploy(platform.dagsDir);
    const broken = await data(`{ dags(first: 10) { edges { node { id importError { fileName message } } } } }`);
    expect(nodes(broken.dags).find((d: any) => d.id === 'logs').importError).toMatchObject({ fileName: 'logs.ts', message: expect.stringMatching(/logs broke/) });
    expect(nodes(broken.dags).find((d: any) => d.id === 'shapes').importError).toBeNull();
    await writeDagFiles(platform.dagsDir, { 'logs.ts': LOGS });
    await platform.deploy(platform.dagsDir);
  });

  it('list by tag and paused state', async () => {
    expect(nodes((await data(`{ dags(first: 10, tags: ["team-a"]) { edges { node { id } } } }`)).dags)).toEqual([{ id: 'shapes' }]);
    expect(nodes((await data(`{ dags(first: 10, paused: true) { edges { node { id } } } }`)).dags)).toEqual([]);
    expect(nodes((await data(`{ dags(first: 10, paused: false) { edges { node { id } } } }`)).dags)).toHaveLength(3);
  });

  it('search by id, description or tag, ignoring case, wildcards matched as text; dagTags lists what tags filters by', async () => {
    const ids = async (search: string) => nodes((await data(`query ($s: String) { dags(first: 10, search: $s) { edges { node { id } } } }`, { s: search })).dags).map((d: { id: string }) => d.id);
    expect(await ids('APE')).toEqual(['shapes']);
    expect(await ids('team-a')).toEqual(['shapes']);
    expect(await ids('team')).toEqual([]); // a tag matches whole
    expect(await ids('_')).toEqual([]); // as LIKE's wildcard it would match every DAG
    expect(await ids('%')).toEqual([]);
    expect(await ids('  ')).toEqual(['logs', 'mapped', 'shapes']);
    expect(await data(`{ dagTags }`)).toEqual({ dagTags: ['team-a'] });
  });
});

describe('runs', () => {
  it('nest under a list of DAGs, each DAG with its own newest runs', async () => {
    const { dags } = await data(`{ dags(first: 10) { edges { node { id runs(first: 2) { edges { node { id dagId } } pageInfo { hasNextPage } } } } } }`);
    const byDag = Object.fromEntries(nodes(dags).map((d: any) => [d.id, d.runs]));
    expect(nodes(byDag.mapped).map((r: any) => r.id)).toEqual([runs.mapped![2], runs.mapped![1]]);
    expect(byDag.mapped.pageInfo.hasNextPage).toBe(true);
    expect(nodes(byDag.logs).map((r: any) => r.id)).toEqual([runs.logs![0]]);
    expect(byDag.logs.pageInfo.hasNextPage).toBe(false);
    expect(nodes(byDag.shapes).map((r: any) => r.dagId)).toEqual(['shapes', 'shapes']);
  });

  it('filter by DAG, state, run type and logical date, at the root and under a DAG', async () => {
    const ids = async (args: string) => nodes((await data(`{ dagRuns(first: 50${args}) { edges { node { id } } } }`)).dagRuns).map((r: any) => r.id);
    expect(await ids(', dagId: "mapped"')).toEqual([...runs.mapped!].reverse());
    expect(await ids(', dagId: "mapped", states: [success]')).toEqual([...runs.mapped!].reverse());
    expect(await ids(', dagId: "mapped", states: [failed, running]')).toEqual([]);
    expect(await ids(', dagId: "mapped", runTypes: [scheduled]')).toEqual([]);
    const { dagRun } = await data(`{ dagRun(id: "${runs.mapped![1]}") { logicalDate durationMs } }`);
    expect(dagRun.durationMs).toBeGreaterThanOrEqual(0);
    expect(await ids(`, dagId: "mapped", logicalDateFrom: "${dagRun.logicalDate}"`)).toEqual([runs.mapped![2], runs.mapped![1]]);
    expect(await ids(`, dagId: "mapped", logicalDateTo: "${dagRun.logicalDate}"`)).toEqual([runs.mapped![0]]);
    const nested = await data(`{ dag(id: "mapped") { runs(first: 5, logicalDateTo: "${dagRun.logicalDate}", runTypes: [manual]) { edges { node { id } } } } }`);
    expect(nodes(nested.dag.runs)).toEqual([{ id: runs.mapped![0] }]);
  });
});

describe('task instances', () => {
  const PAGE = `query ($run: ID!, $first: Int, $after: String, $last: Int, $before: String) { dagRun(id: $run) {
    taskInstances(first: $first, after: $after, last: $last, before: $before) { edges { cursor node { taskId mapIndex } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } } }`;

  it('list by task id, a mapped task’s instances in mapIndex order, and page forward and backward by cursor', async () => {
    const run = runs.mapped![0];
    const all = nodes((await data(PAGE, { run, first: 100 })).dagRun.taskInstances).map((ti: any) => `${ti.taskId}[${ti.mapIndex}]`);
    expect(all).toEqual([...[0, 1, 2, 3, 4, 5, 6].map((i) => `echo[${i}]`), 'numbers[-1]', 'sum[-1]']);

    const forward: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const { taskInstances }: { taskInstances: any } = (await data(PAGE, { run, first: 4, after })).dagRun;
      forward.push(...nodes(taskInstances).map((ti: any) => `${ti.taskId}[${ti.mapIndex}]`));
      if (!taskInstances.pageInfo.hasNextPage) break;
      after = taskInstances.pageInfo.endCursor;
    }
    expect(forward).toEqual(all);

    const tail = (await data(PAGE, { run, last: 3 })).dagRun.taskInstances;
    expect(nodes(tail).map((ti: any) => `${ti.taskId}[${ti.mapIndex}]`)).toEqual(all.slice(-3));
    expect(tail.pageInfo.hasPreviousPage).toBe(true);
    const before = (await data(PAGE, { run, last: 2, before: tail.pageInfo.startCursor })).dagRun.taskInstances;
    expect(nodes(before).map((ti: any) => `${ti.taskId}[${ti.mapIndex}]`)).toEqual(all.slice(-5, -3));
  });

  it('filter by state, task and map index; one instance by task and map index', async () => {
    const run = runs.mapped![0];
    const list = async (args: string) => nodes((await data(`{ dagRun(id: "${run}") { taskInstances(first: 50${args}) { edges { node { taskId mapIndex state } } } } }`)).dagRun.taskInstances);
    expect(await list(', states: [failed]')).toEqual([{ taskId: 'echo', mapIndex: 3, state: 'failed' }]);
    expect((await list(', taskId: "echo"')).map((ti: any) => ti.mapIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await list(', taskId: "echo", mapIndex: 5')).toEqual([{ taskId: 'echo', mapIndex: 5, state: 'success' }]);
    expect(await list(', states: [upstream_failed, skipped]')).toEqual([]);

    const { dagRun } = await data(`{ dagRun(id: "${run}") { taskInstance(taskId: "echo", mapIndex: 3) { state mapItem durationMs dagRun { id }
      tries { tryNumber state errorName errorMessage durationMs workerId } xcoms { key } }
      sum: taskInstance(taskId: "sum") { returnValue xcoms { key value sizeBytes } } none: taskInstance(taskId: "echo", mapIndex: 99) { state } } }`);
    expect(dagRun.taskInstance).toMatchObject({ state: 'failed', mapItem: 3, dagRun: { id: run }, xcoms: [] });
    expect(dagRun.taskInstance.tries).toEqual([
      { tryNumber: 1, state: 'failed', errorName: 'NonRetryableError', errorMessage: 'three is bad', durationMs: expect.any(Number), workerId: expect.any(String) },
    ]);
    expect(dagRun.sum).toEqual({ returnValue: 6, xcoms: [{ key: 'return_value', value: 6, sizeBytes: 1 }] });
    expect(dagRun.none).toBeNull();
  });

  it('nest under a list of runs, each run with its own page', async () => {
    const { dagRuns } = await data(`{ dagRuns(first: 3, dagId: "mapped") { edges { node { id taskInstances(first: 2, taskId: "echo") { edges { node { dagRunId mapIndex } } } } } } }`);
    for (const run of nodes(dagRuns)) expect(nodes(run.taskInstances)).toEqual([{ dagRunId: run.id, mapIndex: 0 }, { dagRunId: run.id, mapIndex: 1 }]);
  });
});

describe('log lines', () => {
  const LINES = `query ($run: ID!, $first: Int, $after: String, $last: Int, $before: String, $afterSeq: Int) { dagRun(id: $run) { taskInstance(taskId: "chatty") { tries {
    logs(first: $first, after: $after, last: $last, before: $before, afterSeq: $afterSeq) { edges { node { seq message } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } } } } }`;
  const logsOf = async (variables: Record<string, unknown>) => (await data(LINES, { run: runs.logs![0], ...variables })).dagRun.taskInstance.tries[0].logs;
  const seqs = (logs: any) => nodes(logs).map((l: any) => l.seq);

  it('page by sequence: first pages forward, last is the tail, afterSeq starts after a known line', async () => {
    const pages: number[][] = [];
    let after: string | null = null;
    for (;;) {
      const logs = await logsOf({ first: 100, after });
      pages.push(seqs(logs));
      if (!logs.pageInfo.hasNextPage) break;
      after = logs.pageInfo.endCursor;
    }
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(nodes(await logsOf({ first: 1 }))).toEqual([{ seq: 0, message: 'line 0' }]);

    const tail = await logsOf({ last: 10 });
    expect(seqs(tail)).toEqual(Array.from({ length: 10 }, (_, i) => 240 + i));
    expect(tail.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    expect(seqs(await logsOf({ last: 5, before: tail.pageInfo.startCursor }))).toEqual([235, 236, 237, 238, 239]);
    expect(seqs(await logsOf({ first: 100, afterSeq: 245 }))).toEqual([246, 247, 248, 249]);
    expect(seqs(await logsOf({ last: 2, afterSeq: 100 }))).toEqual([248, 249]);
  });

  it('pages back through one try alone (tries(tryNumber:)), as a log view’s “load earlier” does', async () => {
    const ONE = `query ($run: ID!, $n: Int, $before: String) { dagRun(id: $run) { taskInstance(taskId: "chatty") { tries(tryNumber: $n) { tryNumber
      logs(last: 100, before: $before) { edges { node { seq } } pageInfo { hasPreviousPage startCursor } } } } } }`;
    const tryOf = async (variables: Record<string, unknown>) => (await data(ONE, { run: runs.logs![0], ...variables })).dagRun.taskInstance.tries;
    const [tail] = await tryOf({ n: 1 });
    expect(seqs(tail.logs)).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
    const [earlier] = await tryOf({ n: 1, before: tail.logs.pageInfo.startCursor });
    expect(seqs(earlier.logs)).toEqual(Array.from({ length: 100 }, (_, i) => 50 + i));
    const [first] = await tryOf({ n: 1, before: earlier.logs.pageInfo.startCursor });
    expect(seqs(first.logs)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(first.logs.pageInfo.hasPreviousPage).toBe(false);
    expect(await tryOf({ n: 2 })).toEqual([]);
  });
});

describe('grid', () => {
  const GRID = `query ($dagId: ID!, $runs: Int, $first: Int, $after: String) { dagGrid(dagId: $dagId, runs: $runs) { dagId runs { id state }
    rows(first: $first, after: $after) { edges { node { task { id } inLatestVersion cells { dagRunId state instances counts { state count } } } } pageInfo { hasNextPage endCursor } } } }`;

  it('shows the last runs newest first and, per task and run, how many instances are in each state', async () => {
    const { dagGrid } = await data(GRID, { dagId: 'mapped', runs: 2 });
    const [newest, previous] = [runs.mapped![2]!, runs.mapped![1]!];
    expect(dagGrid.runs).toEqual([{ id: newest, state: 'success' }, { id: previous, state: 'success' }]);
    const rows = nodes(dagGrid.rows);
    // The newest version dropped `sum`: its row follows, for the runs that have it.
    expect(rows.map((r: any) => [r.task.id, r.inLatestVersion])).toEqual([['numbers', true], ['echo', true], ['sum', false]]);
    const echo = rows[1];
    expect(echo.cells).toEqual([newest, previous].map((id) => ({
      dagRunId: id,
      state: 'failed',
      instances: 7,
      counts: [{ state: 'success', count: 6 }, { state: 'failed', count: 1 }],
    })));
    expect(rows[0].cells.map((c: any) => [c.state, c.instances])).toEqual([['success', 1], ['success', 1]]);
  });

  it("unfolds a mapped task: a slice of its instances per map index in every shown run, with each index's item", async () => {
    const SLICE = `query ($from: Int, $count: Int) { dagGrid(dagId: "mapped", runs: 2) { mappedInstances(taskId: "echo", fromMapIndex: $from, count: $count) {
      instances { dagRunId mapIndex state } items { mapIndex label } } } }`;
    const [newest, previous] = [runs.mapped![2]!, runs.mapped![1]!];
    const slice = (await data(SLICE, { from: 2, count: 3 })).dagGrid.mappedInstances;
    expect(slice.items).toEqual([2, 3, 4].map((i) => ({ mapIndex: i, label: String(i) })));
    expect(slice.instances).toEqual(
      [2, 3, 4].flatMap((i) => [newest, previous].map((run) => ({ dagRunId: run, mapIndex: i, state: i === 3 ? 'failed' : 'success' }))),
    );
    // Past the last index: nothing.
    expect((await data(SLICE, { from: 7, count: 10 })).dagGrid.mappedInstances).toEqual({ instances: [], items: [] });
  });

  it('pages its rows, each page reading its own tasks’ cells', async () => {
    const first = (await data(GRID, { dagId: 'shapes', first: 2 })).dagGrid.rows;
    expect(nodes(first).map((r: any) => r.task.id)).toEqual(['early', 'inner.deep.step']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await data(GRID, { dagId: 'shapes', first: 2, after: first.pageInfo.endCursor })).dagGrid.rows;
    expect(nodes(second).map((r: any) => [r.task.id, r.cells.length, r.cells[0].state])).toEqual([['inner.step', 2, 'success'], ['last', 2, 'success']]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('is empty for a DAG without runs', async () => {
    await writeDagFiles(platform.dagsDir, { 'idle.ts': `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'idle' }, () => { task('t', () => 1)(); });\n` });
    await platform.deploy(platform.dagsDir);
    const { dagGrid } = await data(GRID, { dagId: 'idle' });
    expect(dagGrid.runs).toEqual([]);
    expect(nodes(dagGrid.rows)).toEqual([{ task: { id: 't' }, inLatestVersion: true, cells: [] }]);
    await fs.rm(path.join(platform.dagsDir, 'idle.ts'));
  });
});

describe('workers and health', () => {
  it('tell which workers are alive', async () => {
    const { workers } = await data(`{ workers(first: 10) { edges { node { alive stoppedAt runningTryIds } } } }`);
    expect(nodes(workers)).toEqual([{ alive: true, stoppedAt: null, runningTryIds: [] }]);
  });

  it('is healthy with a scheduler and a worker alive, degraded without a scheduler, unhealthy without the database', async () => {
    const HEALTH = `{ health { status database { reachable latencyMs } migrations { current applied pending failed unknown } schedulers { alive latestHeartbeatAt } workers { alive } } }`;
    // Each check through a pool of its own: answers are reused for a second per pool.
    const healthOf = async (url = platform.db.url) => {
      const pool = createPool(url, { max: 2, onError: () => undefined });
      try {
        const api = createApi({ prisma: platform.db.prisma, pool });
        const response = await api.fetch('http://test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: HEALTH }) });
        return ((await response.json()) as any).data.health;
      } finally {
        await pool.end();
      }
    };
    const degraded = await healthOf();
    expect(degraded).toMatchObject({ status: 'degraded', database: { reachable: true }, migrations: { current: true, pending: 0, failed: 0, unknown: 0 }, schedulers: { alive: 0 }, workers: { alive: 1 } });
    expect(degraded.migrations.applied).toBeGreaterThan(5);

    const scheduler = startScheduler({ pool: platform.pool });
    try {
      await expect.poll(async () => (await healthOf()).status, { timeout: 10_000 }).toBe('healthy');
    } finally {
      await scheduler.stop();
    }
    // A stopped scheduler is not alive.
    expect(await healthOf()).toMatchObject({ status: 'degraded', schedulers: { alive: 0, latestHeartbeatAt: expect.any(String) } });

    const url = new URL(platform.db.url);
    url.hostname = '127.0.0.1';
    url.port = String(await closedPort());
    expect(await healthOf(url.toString())).toEqual({ status: 'unhealthy', database: { reachable: false, latencyMs: null }, migrations: null, schedulers: null, workers: null });
  });
});

describe('bad input', () => {
  it('is BAD_USER_INPUT with a message saying what is wrong', async () => {
    const run = runs.mapped![0];
    const cases: Array<[string, Record<string, unknown> | undefined, RegExp]> = [
      [`{ dagRuns(first: 5, logicalDateFrom: "yesterday") { edges { node { id } } } }`, undefined, /DateTime cannot represent an invalid date-time-string yesterday/],
      [`query ($d: DateTime) { dagRuns(first: 5, logicalDateFrom: $d) { edges { node { id } } } }`, { d: '2026-13-45' }, /Variable "\$d" got invalid value "2026-13-45"/],
      [`{ dagRuns(first: 5, logicalDateFrom: "2026-02-01T00:00:00Z", logicalDateTo: "2026-01-01T00:00:00Z") { edges { node { id } } } }`, undefined, /logicalDateFrom \(2026-02-01T00:00:00.000Z\) is after logicalDateTo/],
      [`{ dagRuns(first: 5, states: []) { edges { node { id } } } }`, undefined, /states must list 1 to 20 values/],
      [`{ dagRuns(first: -1) { edges { node { id } } } }`, undefined, /must be a non-negative integer/],
      [`{ dagRuns(first: 5, after: "not-a-cursor") { edges { node { id } } } }`, undefined, /Invalid cursor/],
      [`{ dag(id: "mapped") { runs(first: 5, after: "R1BDOlM6eA==") { edges { node { id } } } } }`, undefined, /The cursor does not belong to this list/],
      [`{ dagRun(id: "${run}") { taskInstances(first: 5, mapIndex: -2) { edges { node { id } } } } }`, undefined, /mapIndex is -2/],
      [`{ dagRun(id: "${run}") { taskInstances(first: 5, taskId: "") { edges { node { id } } } } }`, undefined, /is not a task id/],
      [`{ dagRun(id: "${run}") { taskInstances(first: 5, states: [finished]) { edges { node { id } } } } }`, undefined, /Value "finished" does not exist in "TaskInstanceState" enum/],
      [`{ dagRun(id: "${run}") { taskInstance(taskId: "echo", mapIndex: 3) { tries { logs(first: 5, afterSeq: -1) { edges { node { seq } } } } } } }`, undefined, /afterSeq is -1/],
      [`{ dagGrid(dagId: "mapped", runs: 101) { dagId } }`, undefined, /runs is 101; a grid shows 1 to 100 runs/],
      [`{ dagGrid(dagId: "mapped") { rows(after: "eA") { edges { cursor } } } }`, undefined, /The cursor does not name a task of this grid/],
      [`{ dagGrid(dagId: "mapped") { rows(first: 1001) { edges { cursor } } } }`, undefined, /first is 1001; a page holds at most 1000 items/],
      [`{ dagGrid(dagId: "mapped") { mappedInstances(taskId: "echo", count: 501) { items { mapIndex } } } }`, undefined, /count is 501; a slice covers 1 to 500 map indexes/],
      [`{ dagGrid(dagId: "mapped") { mappedInstances(taskId: "echo", fromMapIndex: -1) { items { mapIndex } } } }`, undefined, /fromMapIndex is -1/],
      [`{ dagGrid(dagId: "mapped") { mappedInstances(taskId: "") { items { mapIndex } } } }`, undefined, /is not a task id/],
      [`{ dags(first: 5, tags: []) { edges { node { id } } } }`, undefined, /tags must list 1 to 20 tags/],
      [`query ($s: String) { dags(first: 5, search: $s) { edges { node { id } } } }`, { s: 'x'.repeat(201) }, /search is 201 characters long; at most 200/],
    ];
    for (const [query, variables, message] of cases) {
      const { body } = await ask(query, variables);
      expect({ query, error: body.errors?.[0] }).toMatchObject({ query, error: { message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } } });
    }
    expect(await codeOf(`{ dagGrid(dagId: "no_such_dag") { dagId } }`)).toBe('NOT_FOUND');
  });
});
