// Where the time of a trigger goes, from the client's side of every statement: `npx tsx
// bench/profile-trigger.ts`. The API, a worker at concurrency 4 and the one-task DAG of the
// trigger figures in this process; 10 warm-up then 50 calls of each kind, one after the
// other. For each kind, the median time after the request was sent at which each statement
// on the path was sent and answered (the try's started_at is taken inside the claim). An
// investigation aid, not part of `npm run bench`.
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveApi } from '../server/src/api/server.js';
import { bundleCacheDir } from '../server/src/config.js';
import { startWorker } from '../server/src/executor/worker.js';
import { LiveUpdates } from '../server/src/live/live-updates.js';
import { createApiToken } from '../server/src/tokens.js';
import { runWithCleanup, type Cleanup } from './cleanup.js';
import { linkSdk } from './dags.js';
import { openBenchDatabase } from './environment.js';
import { deployChain } from './handoff.js';
import { traceQueries, type TracedQuery } from './query-trace.js';
import { summarize } from './stats.js';
import { WEBHOOK_DAG_ID, writeWebhookDags } from './webhook.js';

const CALLS = { warmup: 10, measured: 50 };

async function main(cleanup: Cleanup): Promise<void> {
  const { db, home, dagsDir } = await openBenchDatabase(cleanup);
  const cacheDir = bundleCacheDir({ home });
  await linkSdk(dagsDir);
  await writeWebhookDags(dagsDir);
  await deployChain(db.prisma, dagsDir, cacheDir);
  const { token } = await createApiToken(db.prisma, { role: 'op', name: 'bench-profile' }, 'bench');
  const worker = await startWorker({ pool: db.pool, databaseUrl: db.url, cacheDir, concurrency: 4 });
  cleanup.defer('stop the worker', () => worker.stop());
  const live = new LiveUpdates({ databaseUrl: db.url });
  cleanup.defer('close live updates', () => live.close());
  const server = await serveApi({ prisma: db.prisma, pool: db.pool, live }, { host: '127.0.0.1', port: 0, auth: { open: false } });
  cleanup.defer('stop the API', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const mutation = `mutation ($dagId: String!, $conf: JSON) { triggerDagRun(input: { dagId: $dagId, conf: $conf }) { dagRun { id } } }`;
  const kinds = {
    graphql: async (i: number) => {
      const response = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query: mutation, variables: { dagId: WEBHOOK_DAG_ID, conf: { call: i } } }) });
      return Number(((await response.json()) as { data: { triggerDagRun: { dagRun: { id: string } } } }).data.triggerDagRun.dagRun.id);
    },
    webhook: async (i: number) => {
      const response = await fetch(`${base}/api/dags/${WEBHOOK_DAG_ID}/trigger`, { method: 'POST', headers, body: JSON.stringify({ call: i }) });
      return ((await response.json()) as { dagRunId: number }).dagRunId;
    },
  };
  for (const [kind, trigger] of Object.entries(kinds)) {
    const sent: number[] = [];
    const trace = traceQueries();
    try {
      for (let i = 0; i < CALLS.warmup + CALLS.measured; i++) {
        const at = performance.now();
        const dagRunId = await trigger(i);
        if (i >= CALLS.warmup) sent.push(at);
        await waitForSuccess(db.pool, dagRunId);
      }
    } finally {
      trace.stop();
    }
    console.log(`\n${kind}: median ms after the request was sent (${CALLS.measured} calls)`);
    for (const [label, times] of timeline(trace.queries, sent)) {
      const s = summarize(times.map((t) => t[0]!));
      const d = summarize(times.map((t) => t[1]!));
      console.log(`  sent ${s.p50.toFixed(2).padStart(6)}  answered ${d.p50.toFixed(2).padStart(6)}  ${label}`);
    }
  }
}

/** Each call's statements up to its claim, by label in the order of the first call: [sent, answered] after the request. */
function timeline(queries: TracedQuery[], sent: number[]): Map<string, number[][]> {
  const out = new Map<string, number[][]>();
  sent.forEach((t0, i) => {
    const until = sent[i + 1] ?? Infinity;
    // Without the profiler's own wait for the run (waitForSuccess).
    const path = queries.filter((q) => q.sentAt >= t0 && q.sentAt < until && q.label !== 'SELECT state');
    const claim = path.findIndex((q) => q.label === 'updraft_claim_task_instances');
    for (const q of path.slice(0, claim + 1)) out.set(q.label, [...(out.get(q.label) ?? []), [q.sentAt - t0, q.doneAt - t0]]);
  });
  return out;
}

async function waitForSuccess(pool: import('pg').Pool, dagRunId: number): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 5))) {
    const { rows } = await pool.query<{ state: string }>(`SELECT state FROM dag_run WHERE id = $1`, [dagRunId]); // labelled 'SELECT state'
    if (rows[0]?.state === 'success') return;
  }
  throw new Error(`run ${dagRunId} did not succeed within 30 s`);
}

await runWithCleanup(main);
