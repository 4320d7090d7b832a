// Webhook → first task start, and asset event → first task start of the run it causes, over
// real HTTP: the API served on a loopback port with tokens required, one worker, a scheduler
// woken by NOTIFY. `npm run bench -- --webhook-only` prints them.
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { serveApi } from '../server/src/api/server.js';
import type { Db } from '../server/src/db/prisma.js';
import { startWorker } from '../server/src/executor/worker.js';
import { LiveUpdates } from '../server/src/live/live-updates.js';
import { startScheduler } from '../server/src/scheduler.js';
import { createApiToken } from '../server/src/tokens.js';
import type { Cleanup } from './cleanup.js';
import { deployChain } from './handoff.js';
import type { Row } from './report.js';
import { summarize } from './stats.js';
import { within } from './wait.js';

export const WEBHOOK_DAG_ID = 'bench_webhook';
export const WEBHOOK_IN_PROCESS_DAG_ID = 'bench_webhook_in_process';
export const ASSET_CONSUMER_DAG_ID = 'bench_asset_consumer';
const ASSET_URI = 'bench://webhook/asset';

/** Calls per figure: warm-up calls are discarded. */
export const WEBHOOK_CALLS = { warmup: 10, measured: 100 };

/** DAGs of one no-op task: triggered by the webhook (isolated, in-process), and scheduled on an asset (in-process). */
export async function writeWebhookDags(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    path.join(dir, 'webhook.ts'),
    [
      `import { asset, dag, task } from '@updraft/sdk';`,
      `const noop = task('noop', () => undefined);`,
      `export const isolated = dag({ id: '${WEBHOOK_DAG_ID}' }, () => { noop(); });`,
      `export const inProcess = dag({ id: '${WEBHOOK_IN_PROCESS_DAG_ID}', defaultArgs: { isolation: 'none' } }, () => { noop(); });`,
      `export const consumer = dag({ id: '${ASSET_CONSUMER_DAG_ID}', schedule: [asset('${ASSET_URI}')], defaultArgs: { isolation: 'none' } }, () => { noop(); });`,
      ``,
    ].join('\n'),
  );
}

export interface WebhookFigures {
  /** GraphQL `triggerDagRun` mutation sent (HTTP, token) → the run's first try started, ms, isolated task. */
  triggerGraphql: number[];
  /** Request sent → the run's first try started (task_try.started_at), ms, isolated task. */
  triggerIsolated: number[];
  /** The same, `isolation: 'none'`. */
  triggerInProcess: number[];
  /** The HTTP round trip of the trigger alone (request sent → response read), ms. */
  roundTrip: number[];
  /** POST /api/assets/events sent → the asset-triggered run's first try started, ms. */
  assetEvent: number[];
}

/**
 * Deploys the webhook DAGs from `dagsDir` (which must link the SDK), serves the API with
 * tokens required, and measures each figure call after call (the next call once the
 * previous run ended). Times are epoch milliseconds: the bench's clock when the request is
 * sent, the database's `clock_timestamp()` when the try starts (one machine, one clock).
 */
export async function measureWebhook(
  db: { pool: Pool; prisma: Db; url: string },
  cleanup: Cleanup,
  opts: { dagsDir: string; cacheDir: string; calls?: { warmup: number; measured: number }; assetEvents?: boolean },
): Promise<WebhookFigures> {
  const calls = opts.calls ?? WEBHOOK_CALLS;
  await writeWebhookDags(opts.dagsDir);
  await deployChain(db.prisma, opts.dagsDir, opts.cacheDir);
  const { token } = await createApiToken(db.prisma, { role: 'op', name: 'bench-webhook' }, 'bench');
  // Runs end as fast as the answer comes back: their states are kept for the waiter to find.
  const endedStates = new Map<number, string>();
  const ended = new Map<number, (state: string) => void>();
  const worker = await startWorker({
    pool: db.pool,
    databaseUrl: db.url,
    cacheDir: opts.cacheDir,
    concurrency: 4,
    onEvent: (event) => {
      if (event.kind === 'finished' && event.result.runState) {
        endedStates.set(event.dagRunId, event.result.runState);
        ended.get(event.dagRunId)?.(event.result.runState);
      }
    },
    onWarning: (message) => console.warn(`worker: ${message}`),
  });
  const stopWorker = cleanup.defer('stop the webhook bench worker', () => worker.stop());
  const live = new LiveUpdates({ databaseUrl: db.url });
  const assetRuns = new Map<string, (dagRunId: number) => void>();
  const scheduler = startScheduler({ pool: db.pool, live, onAssetRun: (run) => assetRuns.get(run.dagId)?.(run.dagRunId), onWarning: (m) => console.warn(`scheduler: ${m}`) });
  const stopScheduler = cleanup.defer('stop the webhook bench scheduler', async () => {
    await scheduler.stop();
    await live.close();
  });
  const server = await serveApi({ prisma: db.prisma, pool: db.pool, live }, { host: '127.0.0.1', port: 0, auth: { open: false } });
  const stopServer = cleanup.defer('stop the webhook bench API', () => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const now = () => performance.timeOrigin + performance.now();

  const waitForRun = async (dagRunId: number) => {
    const done = new Promise<string>((resolve) => {
      ended.set(dagRunId, resolve);
      const state = endedStates.get(dagRunId);
      if (state) resolve(state);
    });
    const state = await within(done, 30_000, `run ${dagRunId} did not end`);
    ended.delete(dagRunId);
    endedStates.delete(dagRunId);
    if (state !== 'success') throw new Error(`run ${dagRunId} ended ${state}`);
  };
  const firstStart = async (dagRunId: number): Promise<number> => {
    const { rows } = await db.pool.query<{ at: number }>(
      `SELECT extract(epoch FROM min(tt.started_at))::float8 * 1000 AS at FROM task_instance ti JOIN task_try tt ON tt.task_instance_id = ti.id WHERE ti.dag_run_id = $1`,
      [dagRunId],
    );
    return rows[0]!.at;
  };

  const figures: WebhookFigures = { triggerGraphql: [], triggerIsolated: [], triggerInProcess: [], roundTrip: [], assetEvent: [] };
  try {
    const mutation = `mutation ($dagId: String!, $conf: JSON) { triggerDagRun(input: { dagId: $dagId, conf: $conf }) { dagRun { id } } }`;
    for (let i = 0; i < calls.warmup + calls.measured; i++) {
      const sent = now();
      const response = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query: mutation, variables: { dagId: WEBHOOK_DAG_ID, conf: { call: i } } }) });
      const body = (await response.json()) as { data?: { triggerDagRun?: { dagRun?: { id: string } } }; errors?: unknown };
      const dagRunId = Number(body.data?.triggerDagRun?.dagRun?.id);
      if (response.status !== 200 || !dagRunId) throw new Error(`the triggerDagRun mutation answered ${response.status}: ${JSON.stringify(body)}`);
      await waitForRun(dagRunId);
      if (i >= calls.warmup) figures.triggerGraphql.push((await firstStart(dagRunId)) - sent);
    }
    for (const [dagId, into] of [
      [WEBHOOK_DAG_ID, figures.triggerIsolated],
      [WEBHOOK_IN_PROCESS_DAG_ID, figures.triggerInProcess],
    ] as const) {
      for (let i = 0; i < calls.warmup + calls.measured; i++) {
        const sent = now();
        const response = await fetch(`${base}/api/dags/${dagId}/trigger`, { method: 'POST', headers, body: JSON.stringify({ call: i }) });
        const body = (await response.json()) as { dagRunId?: number; errors?: unknown };
        const answered = now();
        if (response.status !== 200 || !body.dagRunId) throw new Error(`the webhook answered ${response.status}: ${JSON.stringify(body)}`);
        await waitForRun(body.dagRunId);
        if (i < calls.warmup) continue;
        into.push((await firstStart(body.dagRunId)) - sent);
        if (dagId === WEBHOOK_IN_PROCESS_DAG_ID) figures.roundTrip.push(answered - sent);
      }
    }
    for (let i = 0; opts.assetEvents !== false && i < calls.warmup + calls.measured; i++) {
      const triggered = new Promise<number>((resolve) => assetRuns.set(ASSET_CONSUMER_DAG_ID, resolve));
      const sent = now();
      const response = await fetch(`${base}/api/assets/events`, { method: 'POST', headers, body: JSON.stringify({ uri: ASSET_URI, extra: { call: i } }) });
      if (response.status !== 201) throw new Error(`the asset event webhook answered ${response.status}: ${await response.text()}`);
      const dagRunId = await within(triggered, 30_000, 'no asset-triggered run came');
      await waitForRun(dagRunId);
      if (i >= calls.warmup) figures.assetEvent.push((await firstStart(dagRunId)) - sent);
    }
  } finally {
    await stopServer();
    await stopScheduler();
    await stopWorker();
  }
  return figures;
}

/** The figures as rows of the bench's table. */
export function webhookRows(figures: WebhookFigures): Row[] {
  return [
    { name: 'GraphQL triggerDagRun → first task start (HTTP, token, isolated task)', summary: summarize(figures.triggerGraphql) },
    { name: 'webhook → first task start (HTTP, token, isolated task)', summary: summarize(figures.triggerIsolated) },
    { name: 'the same, `isolation: none`', summary: summarize(figures.triggerInProcess) },
    { name: 'webhook HTTP round trip (request sent → run id read)', summary: summarize(figures.roundTrip) },
    ...(figures.assetEvent.length > 0 ? [{ name: 'asset event webhook → first task start of the asset-triggered run', summary: summarize(figures.assetEvent) }] : []),
  ];
}
