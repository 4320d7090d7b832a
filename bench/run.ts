// `npm run bench [-- --quick]`: the benchmark suite (bench/suite.ts) on the embedded PostgreSQL or
// DATABASE_URL's server, one JSON line per figure on stdout, BENCHMARKS.md rewritten. The
// --*-only flags measure one part and print it, leaving BENCHMARKS.md alone.
import path from 'node:path';
import { bundleCacheDir } from '../server/src/config.js';
import { runWithCleanup, type Cleanup } from './cleanup.js';
import { openBenchDatabase } from './environment.js';
import type { Database } from '../server/src/platform.js';
import { FAN_OUT_DAG_ID, MAPPED_DAG_ID, writeFanOutDag, writeMappedDag } from './fan-out.js';
import { deployChain, measureHandoff } from './handoff.js';
import { API_READS, apiReadRatios, apiReadRows, copyRunHistory, explainApiReads, measureApiReads, type ApiReadFigure } from './api-reads.js';
import { measureRetention } from './retention.js';
import { table } from './report.js';
import { measureWebhook, WEBHOOK_CALLS, webhookRows } from './webhook.js';
import { measureIdleQueries } from './idle-queries.js';
import { measureDashboard, WEB_BENCH } from './web.js';
import { FULL, QUICK, runSuite, type Sizes } from './suite.js';
import { linkSdk, mappedDagId, writeBenchDags } from './dags.js';
import { profileFanOut } from './profile-fan-out.js';

const FAN_OUT_WIDTH = 10_000;
const IDLE_MS = 60_000;
const MAPPED_COUNT = 10_000;

async function main(cleanup: Cleanup): Promise<void> {
  const flags = new Set(process.argv.slice(2));
  log('opening the database');
  const { db, home, dagsDir, kind } = await openBenchDatabase(cleanup);
  if (flags.has('--api-only')) return apiOnly(db, home, dagsDir, cleanup);
  if (flags.has('--webhook-only')) return webhookOnly(db, home, dagsDir, cleanup);
  if (flags.has('--retention-only')) {
    const at = process.argv.indexOf('--retention-runs');
    const runs = at > 0 ? Number(process.argv[at + 1]) : 5_000;
    if (!Number.isInteger(runs) || runs < 5) throw new Error(`--retention-runs must be a whole number of at least 5, got ${process.argv[at + 1]}`);
    log(`retention: a pass over ${runs} old runs (2 tasks, 20 log lines a try) over 90 days, older than 30 days deleted`);
    console.log(JSON.stringify(await measureRetention(db, { runs })));
    return;
  }
  if (flags.has('--sched-only')) return schedOnly(home, dagsDir);
  if (flags.has('--web-only')) return webOnly(db, home, dagsDir);
  if (flags.has('--profile-fan-out')) {
    const at = process.argv.indexOf('--profile-fan-out');
    const count = process.argv[at + 1] && !process.argv[at + 1]!.startsWith('--') ? Number(process.argv[at + 1]) : 2_000;
    if (!Number.isInteger(count) || count < 1) throw new Error(`--profile-fan-out takes a whole number of tasks, got ${process.argv[at + 1]}`);
    await writeBenchDags(dagsDir, { chainLengths: [], mappedCounts: [count], wideWidth: 10, layeredTasks: 5 });
    await deployChain(db.prisma, dagsDir, bundleCacheDir({ home }));
    console.log(await profileFanOut(db, cleanup, { cacheDir: bundleCacheDir({ home }), dagId: mappedDagId(count), count }));
    return;
  }
  const known = new Set(['--quick', '--scale-out', '--no-scale-out', '--no-web']);
  const unknown = [...flags].filter((f) => f.startsWith('--') && !known.has(f));
  if (unknown.length > 0) throw new Error(`unknown flag(s) ${unknown.join(', ')}: use --quick, --scale-out, --no-scale-out, --no-web, or one of --api-only, --webhook-only, --retention-only, --sched-only, --web-only, --profile-fan-out [N]`);
  const sizes: Sizes = { ...(flags.has('--quick') ? QUICK : FULL) };
  if (flags.has('--no-scale-out')) sizes.scaleOut = 0;
  if (flags.has('--no-web')) sizes.web = false;
  const ok = await runSuite({ db, home, dagsDir, kind, sizes, cleanup, only: flags.has('--scale-out') ? 'scale-out' : undefined });
  if (!ok) process.exitCode = 1;
}
/**
 * The API's reads of the isolated fan-out (10,002 tasks) and mapped (10,000 instances of one
 * task) DAGs, whose runs the bench just made: each gets a history of 25 runs, then both
 * queries are measured on each.
 */
async function measureApiOnBenchRuns(db: Database): Promise<ApiReadFigure[]> {
  const figures: ApiReadFigure[] = [];
  for (const [dagId, label] of [
    [FAN_OUT_DAG_ID, `${FAN_OUT_WIDTH.toLocaleString('en')} parallel tasks`],
    [MAPPED_DAG_ID, `one task mapped over ${MAPPED_COUNT.toLocaleString('en')} items`],
  ] as const) {
    const { rows } = await db.pool.query<{ id: number; runs: number }>(`SELECT max(id) AS id, count(*)::int AS runs FROM dag_run WHERE dag_id = $1`, [dagId]);
    const { id: runId, runs } = rows[0]!;
    log(`API reads, ${label}: copying run ${runId} into a history of ${API_READS.runs} runs, then ${API_READS.warmup} + ${API_READS.samples} samples per query`);
    if (runs < API_READS.runs) await copyRunHistory(db.pool, runId, API_READS.runs - runs);
    figures.push(...(await measureApiReads(db, { dagId, runId, label })));
  }
  return figures;
}

/** `npm run bench -- --webhook-only`: the webhook and asset-event figures, printed (BENCHMARKS.md is left alone). */
async function webhookOnly(db: Database, home: string, dagsDir: string, cleanup: Cleanup): Promise<void> {
  await linkSdk(dagsDir);
  log(`webhooks: ${WEBHOOK_CALLS.warmup} warm-up + ${WEBHOOK_CALLS.measured} calls per figure, over HTTP with a token`);
  const figures = await measureWebhook(db, cleanup, { dagsDir, cacheDir: bundleCacheDir({ home }) });
  console.log(`\n${table(webhookRows(figures))}`);
}

/** `npm run bench -- --api-only`: one run of each 10,000-task DAG, then the API's reads, printed (BENCHMARKS.md is left alone). */
async function apiOnly(db: Database, home: string, dagsDir: string, cleanup: Cleanup): Promise<void> {
  await linkSdk(dagsDir);
  await writeFanOutDag(dagsDir, FAN_OUT_WIDTH);
  await writeMappedDag(dagsDir, MAPPED_COUNT);
  const cacheDir = bundleCacheDir({ home });
  await deployChain(db.prisma, dagsDir, cacheDir);
  for (const dagId of [FAN_OUT_DAG_ID, MAPPED_DAG_ID]) {
    log(`one run of ${dagId}`);
    await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId, warmup: 0, measured: 1, runTimeoutMs: 600_000 });
  }
  const figures = await measureApiOnBenchRuns(db);
  console.log(`\n${table(apiReadRows(figures))}\n\n${apiReadRatios(figures)}`);
  if (process.argv.includes('--explain')) {
    for (const dagId of [FAN_OUT_DAG_ID, MAPPED_DAG_ID]) {
      const { rows } = await db.pool.query<{ id: number }>(`SELECT min(id) AS id FROM dag_run WHERE dag_id = $1`, [dagId]);
      console.log(`\n## ${dagId}\n\n${await explainApiReads(db, { dagId, runId: rows[0]!.id })}`);
    }
  }
}

/** `--sched-only`: the idle platform's statements per second (issue 9: at most 2). */
async function schedOnly(home: string, dagsDir: string): Promise<void> {
  const measureMs = Number(process.env.IDLE_SECONDS ?? IDLE_MS / 1000) * 1000;
  log(`idle platform (API, scheduler, worker; example DAGs deployed): counting its statements for ${measureMs / 1000} s`);
  const idle = await measureIdleQueries(home, path.join(dagsDir, 'idle'), { measureMs });
  console.log(`\nidle queries/s: ${idle.perSecond.toFixed(2)} (${idle.queries} statements in ${idle.seconds} s)`);
  for (const [label, count] of idle.byLabel) console.log(`  ${String(count).padStart(5)}  ${label}`);
}

/**
 * `npm run bench -- --web-only`: the dashboard in headless Chromium at 10,000 mapped instances
 * (bench/web.ts), printed (BENCHMARKS.md is left alone). Needs the dashboard built (npm ci does).
 */
async function webOnly(db: Database, home: string, dagsDir: string): Promise<void> {
  await linkSdk(dagsDir);
  await writeMappedDag(dagsDir, MAPPED_COUNT);
  await deployChain(db.prisma, dagsDir, bundleCacheDir({ home }));
  await db.pool.query('UPDATE dag SET paused = true WHERE id = $1', [MAPPED_DAG_ID]);
  const figures = await measureDashboard(db, { dagId: MAPPED_DAG_ID, taskId: 'noop', chromiumPath: process.env.UPDRAFT_CHROMIUM, log });
  console.log(`\n${table(figures)}\n`);
  for (const f of figures) {
    const verdict = f.summary.p95 <= WEB_BENCH.budgetMs ? 'within' : 'OVER';
    console.log(`${f.name}: p95 ${f.summary.p95.toFixed(0)} ms, ${verdict} the ${WEB_BENCH.budgetMs} ms budget${f.domRows !== undefined ? `; ${f.domRows} list rows in the DOM` : ''}`);
  }
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

await runWithCleanup(main);
