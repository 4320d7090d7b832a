// The dashboard at 10,000 task instances, in headless Chromium: how long until the DAG grid and
// the run page of a run with 10,000 mapped instances answer the user, and that the run page's
// list keeps only what is in view in the DOM. `npm run bench -- --web-only` measures only this.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { serveApi } from '../server/src/api/server.js';
import { LiveUpdates } from '../server/src/live/live-updates.js';
import type { Database } from '../server/src/platform.js';
import { copyRunHistory } from './api-reads.js';
import { summarize, type Summary } from './stats.js';

export const WEB_BENCH = { instances: 10_000, runs: 25, samples: 7, budgetMs: 2_000 } as const;

export interface WebFigure {
  name: string;
  summary: Summary;
  /** Rows of the run page's list in the DOM at the end (the virtualization check). */
  domRows?: number;
}

/**
 * A finished run of `dagId` whose mapped task `taskId` has `count` instances (all success but
 * every 97th failed), written straight to the database in two statements (no worker sees a
 * queued run). Returns its id.
 */
export async function seedMappedRun(pool: Pool, dagId: string, taskId: string, count: number): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, queued_at, started_at, ended_at)
     SELECT $1, (SELECT max(id) FROM dag_version WHERE dag_id = $1), 'seeded__' || gen_random_uuid(), 'manual', 'success',
            now() - interval '1 hour' * (SELECT count(*) + 1 FROM dag_run WHERE dag_id = $1), now() - interval '11 minutes', now() - interval '10 minutes', now()
     RETURNING id`,
    [dagId],
  );
  const runId = rows[0]!.id;
  await pool.query(
    `INSERT INTO task_instance (dag_run_id, task_id, map_index, state, try_number, max_tries, queued_at, started_at, ended_at, map_item)
     SELECT $1, $2, g, CASE WHEN g % 97 = 0 THEN 'failed'::"TaskInstanceState" ELSE 'success'::"TaskInstanceState" END, 1, 1,
            now() - interval '10 minutes', now() - interval '10 minutes' + make_interval(secs => g * 0.05), now() - interval '10 minutes' + make_interval(secs => g * 0.05 + 1), to_jsonb(g)
     FROM generate_series(0, $3::int - 1) AS g`,
    [runId, taskId, count],
  );
  await pool.query('ANALYZE task_instance');
  return runId;
}

/**
 * Seeds `dagId` (deployed, with mapped task `taskId`) with a run of 10,000 mapped instances and
 * a history of 25 such runs, serves the API and dashboard, and measures in a fresh browser
 * context each time (no cache):
 * - grid: navigation start → the seeded run's cell of the mapped task is drawn, then a click
 *   unfolding the mapped task has drawn its first instance's cell in that run (one row per instance);
 * - run page: navigation start → the first task instance row is drawn, then a scroll to the end
 *   of the first page has rendered rows from there.
 */
export async function measureDashboard(db: Pick<Database, 'prisma' | 'pool' | 'url'>, opts: { dagId: string; taskId: string; chromiumPath?: string; log?: (m: string) => void }): Promise<WebFigure[]> {
  const log = opts.log ?? (() => undefined);
  log(`seeding a run of ${WEB_BENCH.instances.toLocaleString('en')} mapped instances and a history of ${WEB_BENCH.runs} runs`);
  const runId = await seedMappedRun(db.pool, opts.dagId, opts.taskId, WEB_BENCH.instances);
  const { rows } = await db.pool.query<{ runs: number }>('SELECT count(*)::int AS runs FROM dag_run WHERE dag_id = $1', [opts.dagId]);
  if (rows[0]!.runs < WEB_BENCH.runs) await copyRunHistory(db.pool, runId, WEB_BENCH.runs - rows[0]!.runs);
  // The newest run is the seeded one: copies go back in time.
  const live = new LiveUpdates({ databaseUrl: db.url, onWarning: () => undefined });
  const server: Server = await serveApi({ prisma: db.prisma, pool: db.pool, live }, { host: '127.0.0.1', port: 0, auth: { onWarning: () => undefined } });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser: Browser = await chromium.launch({ executablePath: opts.chromiumPath ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const grid: number[] = [];
    const runPage: number[] = [];
    let domRows = 0;
    for (let i = 0; i < WEB_BENCH.samples + 1; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // Long tasks (main thread busy over 50 ms: parsing, hydration, rendering), for the timings logged below.
      await context.addInitScript(() => {
        const seen: Array<[number, number]> = ((window as unknown as { __longTasks: Array<[number, number]> }).__longTasks = []);
        try {
          new PerformanceObserver((list) => {
            for (const e of list.getEntries()) seen.push([Math.round(e.startTime), Math.round(e.duration)]);
          }).observe({ type: 'longtask', buffered: true });
        } catch {
          // no long task timing in this browser
        }
      });
      const page = await context.newPage();
      let started = performance.now();
      await page.goto(`${origin}/dag?id=${encodeURIComponent(opts.dagId)}`, { waitUntil: 'commit' });
      await page.locator(`[data-testid=grid] a[data-task="${opts.taskId}"][data-run="${runId}"]`).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: `Unfold the instances of mapped task ${opts.taskId}` }).click();
      await page.locator(`[data-testid=grid] a[data-task="${opts.taskId}"][data-map="0"][data-run="${runId}"]`).waitFor({ state: 'attached' });
      const gridMs = performance.now() - started;
      if (i === WEB_BENCH.samples) log(`last grid sample, in the page: ${await page.evaluate(pageTimings)}`);

      started = performance.now();
      await page.goto(`${origin}/run?id=${runId}`, { waitUntil: 'commit' });
      const list = page.locator('[data-testid=ti-list]');
      await list.locator('.ti-row').first().waitFor({ timeout: 30_000 });
      await list.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
      await list.locator('.ti-row[data-map]').last().waitFor();
      const runMs = performance.now() - started;
      domRows = await list.locator('.ti-row').count();
      if (i > 0) {
        // The first sample warms the server's caches and the database's buffers.
        grid.push(gridMs);
        runPage.push(runMs);
      }
      await context.close();
    }
    // The split: the grid's GraphQL request alone, from Node (no browser), as the page sends it.
    const gridQuery = `query ($dagId: ID!) { dagGrid(dagId: $dagId, runs: 25) { dagId runs { id runId state logicalDate startedAt endedAt }
      rows(first: 1000) { edges { node { inLatestVersion task { id groupId mapped kind upstreamIds downstreamIds triggerRule } cells { dagRunId state instances counts { state count } } } } } } }`;
    const requestMs: number[] = [];
    for (let i = 0; i < WEB_BENCH.samples; i++) {
      const t0 = performance.now();
      const response = await fetch(`${origin}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: gridQuery, variables: { dagId: opts.dagId } }) });
      await response.json();
      requestMs.push(performance.now() - t0);
    }
    log(`the grid's /graphql request alone (from Node, ${WEB_BENCH.samples} in a row): p50 ${summarize(requestMs).p50.toFixed(0)} ms, max ${Math.max(...requestMs).toFixed(0)} ms`);
    return [
      { name: `DAG grid, ${WEB_BENCH.runs} runs of a task mapped over ${WEB_BENCH.instances.toLocaleString('en')} items: open → drawn → unfolded on click`, summary: summarize(grid) },
      { name: `run page of ${WEB_BENCH.instances.toLocaleString('en')} mapped instances: open → first rows → scrolled rows drawn`, summary: summarize(runPage), domRows },
    ];
  } finally {
    await browser.close();
    await live.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Where a page's time went: scripts loaded, each /graphql request's start and end, and the main thread's long tasks (ms since navigation). */
function pageTimings(): string {
  const nav = window.performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  const requests = (window.performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .filter((r) => r.name.endsWith('/graphql'))
    .map((r) => `${Math.round(r.startTime)}–${Math.round(r.responseEnd)}`);
  const longTasks = ((window as unknown as { __longTasks?: Array<[number, number]> }).__longTasks ?? []).map(([start, ms]) => `${start}+${ms}`);
  return `DOMContentLoaded ${Math.round(nav?.domContentLoadedEventEnd ?? 0)} ms, load ${Math.round(nav?.loadEventEnd ?? 0)} ms, /graphql requests ${requests.join(', ')} ms, long tasks ${longTasks.join(', ') || 'none'} (start+ms)`;
}
