// What the dashboard asks of a 10,000-task DAG, through the GraphQL handler, each next to a
// plain SELECT of the same rows on the same pool in the same run (the floor): the first page
// of a run's task instances, and the grid of the last 25 runs.
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { createApi } from '../server/src/api/server.js';
import { createPrisma, type Db } from '../server/src/db/prisma.js';
import type { Row } from './report.js';
import { summarize, type Summary } from './stats.js';

export const API_READS = { runs: 25, pageSize: 100, warmup: 20, samples: 200 } as const;

export interface ApiReadFigure {
  name: string;
  graphql: Summary;
  select: Summary;
}

/**
 * Gives the DAG of `runId` a history of `copies` more runs like it (each a copy of its task
 * instances, a few of them failed), so that a grid of the last 25 runs has 25 runs of 10,000
 * instances to read. Copies are written in one statement, without tries or values, which no
 * measured query reads; they are analyzed afterwards as autovacuum would have.
 */
export async function copyRunHistory(pool: Pool, runId: number, copies: number): Promise<void> {
  await pool.query(
    `WITH source AS (SELECT * FROM dag_run WHERE id = $1),
     copies AS (
       INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end, conf, queued_at, started_at, ended_at)
       SELECT s.dag_id, s.dag_version_id, s.run_id || '__history_' || g, s.run_type, s.state, s.logical_date - make_interval(days => g),
              s.data_interval_start, s.data_interval_end, s.conf, s.queued_at, s.started_at, s.ended_at
       FROM source s CROSS JOIN generate_series(1, $2::int) AS g
       RETURNING id
     )
     INSERT INTO task_instance (dag_run_id, task_id, map_index, state, try_number, max_tries, queued_at, started_at, ended_at, map_item)
     SELECT c.id, ti.task_id, ti.map_index,
            CASE WHEN (c.id + ti.id) % 97 = 0 THEN 'failed'::"TaskInstanceState" ELSE ti.state END,
            ti.try_number, ti.max_tries, ti.queued_at, ti.started_at, ti.ended_at, ti.map_item
     FROM copies c CROSS JOIN task_instance ti WHERE ti.dag_run_id = $1`,
    [runId, copies],
  );
  await pool.query('ANALYZE dag_run, task_instance');
}

/**
 * p50/p95 of the two queries for the DAG `dagId`, whose latest real run `runId` has 10,000
 * task instances and whose history already has `API_READS.runs` runs. Each sample is one
 * request through the API's fetch handler (parse, validate, authorize, resolve, serialize)
 * with the baseline's statement right after it, so both see the same load.
 */
export async function measureApiReads(
  db: { prisma: Db; pool: Pool },
  opts: { dagId: string; runId: number; label: string; reads?: Array<'page' | 'grid'>; samples?: { warmup: number; samples: number } },
): Promise<ApiReadFigure[]> {
  const reads = opts.reads ?? ['page', 'grid'];
  const { warmup, samples } = opts.samples ?? API_READS;
  const api = createApi({ prisma: db.prisma, pool: db.pool });
  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const response = await api.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    return body.data;
  };

  const firstPage = {
    query: `query ($id: ID!, $n: Int!) { dagRun(id: $id) { taskInstances(first: $n) { pageInfo { hasNextPage endCursor } edges { node { id taskId mapIndex state tryNumber startedAt endedAt } } } } }`,
    variables: { id: String(opts.runId), n: API_READS.pageSize },
    select: () =>
      db.pool.query(
        `SELECT id, task_id, map_index, state, try_number, started_at, ended_at FROM task_instance WHERE dag_run_id = $1 ORDER BY task_id, map_index LIMIT $2`,
        [opts.runId, API_READS.pageSize + 1],
      ),
  };

  // The grid's baseline reads the same runs and cells with the statements the API sends for
  // them (a page of some tasks probes the unique key per cell; all tasks, one aggregate), for
  // the API's own first page of task ids (its order is topological).
  const { rows: runs } = await db.pool.query<{ id: number }>(`SELECT id FROM dag_run WHERE dag_id = $1 ORDER BY id DESC LIMIT $2`, [opts.dagId, API_READS.runs]);
  const runIds = runs.map((r) => r.id);
  const gridQuery = `query ($dagId: ID!, $runs: Int!, $n: Int!) { dagGrid(dagId: $dagId, runs: $runs) { runs { id state logicalDate }
    rows(first: $n) { pageInfo { hasNextPage endCursor } edges { node { task { id groupId } cells { dagRunId state instances counts { state count } } } } } } }`;
  const gridVariables = { dagId: opts.dagId, runs: API_READS.runs, n: API_READS.pageSize };
  const firstGrid = (await graphql(gridQuery, gridVariables)) as { dagGrid: { rows: { edges: Array<{ node: { task: { id: string } } }>; pageInfo: { hasNextPage: boolean } } } };
  const taskIds = firstGrid.dagGrid.rows.edges.map((e) => e.node.task.id);
  const allTasks = !firstGrid.dagGrid.rows.pageInfo.hasNextPage;
  const grid = {
    query: gridQuery,
    variables: gridVariables,
    select: async () => {
      await db.pool.query(`SELECT id, state, logical_date FROM dag_run WHERE id = ANY($1::int[]) ORDER BY id DESC`, [runIds]);
      if (allTasks) {
        return db.pool.query(
          `SELECT dag_run_id, task_id, state, count(*)::int FROM task_instance WHERE dag_run_id = ANY($1::int[])
           GROUP BY dag_run_id, task_id, state ORDER BY dag_run_id DESC, task_id, state`,
          [runIds],
        );
      }
      return db.pool.query(
        `SELECT r.id AS dag_run_id, t.task_id, c.state, c.count
         FROM unnest($1::int[]) AS r(id) CROSS JOIN unnest($2::text[]) AS t(task_id)
         CROSS JOIN LATERAL (SELECT state, count(*)::int AS count FROM task_instance WHERE dag_run_id = r.id AND task_id = t.task_id GROUP BY state) c
         ORDER BY r.id DESC, t.task_id, c.state`,
        [runIds, taskIds],
      );
    },
  };

  const figures: ApiReadFigure[] = [];
  for (const [kind, name, read] of [
    ['page', `${opts.label}: first page of ${API_READS.pageSize} task instances of a run of ${(10_000).toLocaleString('en')}`, firstPage],
    ['grid', `${opts.label}: grid of the last ${API_READS.runs} runs, first ${API_READS.pageSize} tasks`, grid],
  ] as const) {
    if (!reads.includes(kind)) continue;
    const times = { graphql: [] as number[], select: [] as number[] };
    for (let i = 0; i < warmup + samples; i++) {
      let began = performance.now();
      await graphql(read.query, read.variables);
      const graphqlMs = performance.now() - began;
      began = performance.now();
      await read.select();
      const selectMs = performance.now() - began;
      if (i >= warmup) {
        times.graphql.push(graphqlMs);
        times.select.push(selectMs);
      }
    }
    figures.push({ name, graphql: summarize(times.graphql), select: summarize(times.select) });
  }
  return figures;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of every statement the two queries issue through Prisma, as
 * Prisma sent them (captured with their parameters), for `npm run bench -- --api-only --explain`.
 */
export async function explainApiReads(db: { url: string; pool: Pool }, opts: { dagId: string; runId: number }): Promise<string> {
  const captured: Array<{ sql: string; params: unknown[] }> = [];
  const prisma = createPrisma(db.url, { onQuery: (sql, params) => captured.push({ sql, params }) });
  const out: string[] = [];
  try {
    const api = createApi({ prisma, pool: db.pool });
    for (const [name, query, variables] of [
      ['first page of task instances', `query ($id: ID!) { dagRun(id: $id) { taskInstances(first: 100) { edges { node { id taskId mapIndex state } } } } }`, { id: String(opts.runId) }],
      ['grid', `query ($dagId: ID!) { dagGrid(dagId: $dagId, runs: 25) { runs { id state } rows(first: 100) { edges { node { task { id } cells { dagRunId counts { state count } } } } } } }`, { dagId: opts.dagId }],
    ] as const) {
      captured.length = 0;
      await api.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      for (const { sql, params } of [...captured]) {
        const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
        out.push(`-- ${name}\n${sql.trim()}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
      }
    }
  } finally {
    await prisma.$disconnect();
  }
  return out.join('\n');
}

/** Table rows for BENCHMARKS.md: each GraphQL figure with its plain SELECT under it. */
export function apiReadRows(figures: ApiReadFigure[]): Row[] {
  return figures.flatMap((f) => [
    { name: `API: ${f.name}, through the GraphQL handler`, summary: f.graphql },
    { name: `plain SELECT of the same rows`, summary: f.select },
  ]);
}

/** One line per figure: p50/p95 and the ratio to its SELECT. */
export function apiReadRatios(figures: ApiReadFigure[]): string {
  return figures
    .map(
      (f) =>
        `${f.name}: GraphQL p50 **${f.graphql.p50.toFixed(1)} ms**, p95 **${f.graphql.p95.toFixed(1)} ms** (budget 200 ms); ` +
        `/ plain SELECT p50: **${(f.graphql.p50 / f.select.p50).toFixed(1)}x** (${f.select.p50.toFixed(1)} ms).`,
    )
    .join('\n\n');
}
