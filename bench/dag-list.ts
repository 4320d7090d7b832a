// The DAG list at 1,000 DAGs: what the dashboard's home page asks (web/lib/queries.ts, DAGS:
// its first page of 100), and all 1,000 in one request, through the GraphQL handler, next to a
// plain SELECT of the same rows.
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { createApi } from '../server/src/api/server.js';
import type { Db } from '../server/src/db/prisma.js';
import { summarize, type Summary } from './stats.js';

/** The dashboard's page of the DAG list (web/lib/queries.ts, DAG_PAGE_SIZE). */
export const DAG_PAGE_SIZE = 100;

/** The home page's query, as the dashboard sends it (web/lib/queries.ts, DAGS): `first` DAG_PAGE_SIZE, then as many more per "Show more". */
const DAG_LIST_QUERY = `query Dags($first: Int!, $after: String, $search: String, $tags: [String!], $paused: Boolean) {
  dags(first: $first, after: $after, search: $search, tags: $tags, paused: $paused) {
    edges { node { id description paused schedule nextRunAt tags owners importError { fileName message }
      runs(first: 10) { edges { node { id runId state logicalDate startedAt endedAt } } pageInfo { hasNextPage endCursor } } } }
    pageInfo { hasNextPage endCursor }
  }
  importErrors(first: 100) { edges { node { fileName message createdAt } } pageInfo { hasNextPage endCursor } }
  dagTags
}`;

/**
 * Copies the deployed DAG `sourceDagId` (its row and newest version) into `count - existing`
 * more DAGs, each with `runsEach` finished runs, written in three statements and analyzed, so
 * the platform holds `count` DAGs.
 */
export async function seedDags(pool: Pool, sourceDagId: string, opts: { count: number; runsEach: number }): Promise<void> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dag');
  const more = opts.count - rows[0]!.n;
  if (more <= 0) return;
  await pool.query(
    `INSERT INTO dag SELECT (jsonb_populate_record(NULL::dag, to_jsonb(d) || jsonb_build_object('id', 'bench_listed_' || lpad(g::text, 4, '0'), 'schedule', NULL, 'paused', true))).*
     FROM dag d CROSS JOIN generate_series(1, $2::int) AS g WHERE d.id = $1`,
    [sourceDagId, more],
  );
  await pool.query(
    `INSERT INTO dag_version SELECT (jsonb_populate_record(NULL::dag_version, to_jsonb(v) || jsonb_build_object('id', nextval(pg_get_serial_sequence('dag_version', 'id')), 'dag_id', d.id, 'version_number', 1))).*
     FROM dag d CROSS JOIN (SELECT * FROM dag_version WHERE dag_id = $1 ORDER BY version_number DESC LIMIT 1) v WHERE d.id LIKE 'bench\\_listed\\_%'`,
    [sourceDagId],
  );
  await pool.query(
    `INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, queued_at, started_at, ended_at)
     SELECT v.dag_id, v.id, 'seeded__' || g, 'manual', 'success', now() - make_interval(days => g), now() - make_interval(days => g), now() - make_interval(days => g), now() - make_interval(days => g) + interval '1 minute'
     FROM dag_version v CROSS JOIN generate_series(1, $1::int) AS g WHERE v.dag_id LIKE 'bench\\_listed\\_%'`,
    [opts.runsEach],
  );
  await pool.query('ANALYZE dag, dag_version, dag_run');
}

/** p50/p95 of the DAG list's first `first` DAGs through the GraphQL handler, each sample followed by its plain SELECTs (the floor). */
export async function measureDagList(
  db: { prisma: Db; pool: Pool },
  opts: { first: number; warmup: number; samples: number },
): Promise<{ graphql: Summary; select: Summary; dags: number }> {
  const api = createApi({ prisma: db.prisma, pool: db.pool });
  let dags = 0;
  const times = { graphql: [] as number[], select: [] as number[] };
  for (let i = 0; i < opts.warmup + opts.samples; i++) {
    let began = performance.now();
    const request = { query: DAG_LIST_QUERY, variables: { first: opts.first } };
    const response = await api.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    const body = (await response.json()) as { data?: { dags: { edges: unknown[] } }; errors?: unknown[] };
    if (body.errors || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 2_000)}`);
    dags = body.data.dags.edges.length;
    const graphqlMs = performance.now() - began;
    began = performance.now();
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id, description, paused, schedule, tags FROM dag WHERE is_active ORDER BY id LIMIT $1`, [opts.first + 1]);
    await db.pool.query(
      `SELECT r.* FROM unnest($1::text[]) AS d(id) CROSS JOIN LATERAL (SELECT id, run_id, state, logical_date, started_at, ended_at FROM dag_run WHERE dag_id = d.id ORDER BY logical_date DESC LIMIT 11) r`,
      [rows.slice(0, opts.first).map((row) => row.id)],
    );
    await db.pool.query(`SELECT DISTINCT unnest(tags) FROM dag WHERE is_active`);
    const selectMs = performance.now() - began;
    if (i >= opts.warmup) {
      times.graphql.push(graphqlMs);
      times.select.push(selectMs);
    }
  }
  return { graphql: summarize(times.graphql), select: summarize(times.select), dags };
}
