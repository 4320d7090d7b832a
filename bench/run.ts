// `npm run bench`: raw graphile-worker latency vs Updraft's task-to-task handoff, written to BENCHMARKS.md.
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleCacheDir } from '../server/src/config.js';
import { runWithCleanup, type Cleanup } from './cleanup.js';
import { describeMachine, openBenchDatabase } from './environment.js';
import type { Database } from '../server/src/platform.js';
import { expansionMs, FAN_OUT_DAG_ID, FAN_OUT_IN_PROCESS_DAG_ID, MAPPED_DAG_ID, MAPPED_IN_PROCESS_DAG_ID, writeFanOutDag, writeMappedDag } from './fan-out.js';
import { CHAIN_IN_PROCESS_DAG_ID, CHAIN_LOGGING_DAG_ID, deployChain, measureHandoff, writeChainDag, type HandoffResult } from './handoff.js';
import { API_READS, apiReadRatios, apiReadRows, copyRunHistory, explainApiReads, measureApiReads, type ApiReadFigure } from './api-reads.js';
import { measureRawLatency, measureRawThroughput } from './raw-graphile-worker.js';
import { measureRetention } from './retention.js';
import { benchmarksMarkdown, ratioLine, table, type Row } from './report.js';
import { summarize } from './stats.js';
import { measureWebhook, WEBHOOK_CALLS, webhookRows } from './webhook.js';

// Raw and Updraft blocks alternate so that both see the same background load on a shared
// machine; only one runner exists at a time, so they never compete.
const ROUNDS = 5;
const RAW_PER_ROUND = { warmup: 10, samples: 100 };
const CHAIN_LENGTH = 100;
const RUNS_AT_CONCURRENCY_8 = { warmup: 1, measured: 5 };
const HELLO_WORLD_RUNS = { warmup: 1, measured: 20 };
const FAN_OUT_WIDTH = 10_000;
const FAN_OUT_RUNS = 1;
const MAPPED_COUNT = 10_000;

async function main(cleanup: Cleanup): Promise<void> {
  const began = performance.now();
  log('opening the database');
  const { db, home, dagsDir, kind } = await openBenchDatabase(cleanup);
  const machine = await describeMachine(db.pool, kind);
  if (process.argv.includes('--api-only')) return apiOnly(db, home, dagsDir, cleanup);
  if (process.argv.includes('--webhook-only')) return webhookOnly(db, home, dagsDir, cleanup);
  if (process.argv.includes('--retention-only')) {
    const at = process.argv.indexOf('--retention-runs');
    const runs = at > 0 ? Number(process.argv[at + 1]) : 5_000;
    if (!Number.isInteger(runs) || runs < 5) throw new Error(`--retention-runs must be a whole number of at least 5, got ${process.argv[at + 1]}`);
    log(`retention: a pass over ${runs} old runs (2 tasks, 20 log lines a try) over 90 days, older than 30 days deleted`);
    console.log(JSON.stringify(await measureRetention(db, { runs })));
    return;
  }

  log(`deploying a chain of ${CHAIN_LENGTH} no-op tasks`);
  await writeChainDag(dagsDir, CHAIN_LENGTH);
  await fs.copyFile(path.resolve(import.meta.dirname, '..', 'examples/dags/hello_world.ts'), path.join(dagsDir, 'hello_world.ts'));
  await writeFanOutDag(dagsDir, FAN_OUT_WIDTH);
  await writeMappedDag(dagsDir, MAPPED_COUNT);
  const cacheDir = bundleCacheDir({ home });
  await deployChain(db.prisma, dagsDir, cacheDir);

  const rawLatencies: number[] = [];
  const chain1: HandoffResult = { handoffs: [], runWallTimes: [], firstStarts: [] };
  const chain1InProcess: HandoffResult = { handoffs: [], runWallTimes: [], firstStarts: [] };
  const chain1Logging: HandoffResult = { handoffs: [], runWallTimes: [], firstStarts: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS}: raw graphile-worker ${RAW_PER_ROUND.warmup} warm-up + ${RAW_PER_ROUND.samples} jobs, Updraft chain runs (isolated, in-process, logging) at concurrency 1`);
    rawLatencies.push(...(await measureRawLatency(db.pool, cleanup, RAW_PER_ROUND)));
    append(chain1, await measureHandoff(db, cleanup, { cacheDir, concurrency: 1, warmup: round === 1 ? 1 : 0, measured: 1 }));
    append(chain1InProcess, await measureHandoff(db, cleanup, { cacheDir, concurrency: 1, warmup: round === 1 ? 1 : 0, measured: 1, dagId: CHAIN_IN_PROCESS_DAG_ID }));
    append(chain1Logging, await measureHandoff(db, cleanup, { cacheDir, concurrency: 1, warmup: round === 1 ? 1 : 0, measured: 1, dagId: CHAIN_LOGGING_DAG_ID }));
  }
  log(`Updraft chain at concurrency 8: ${RUNS_AT_CONCURRENCY_8.warmup} warm-up + ${RUNS_AT_CONCURRENCY_8.measured} runs`);
  const chain8 = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, ...RUNS_AT_CONCURRENCY_8 });
  log(`hello_world: ${HELLO_WORLD_RUNS.warmup} warm-up + ${HELLO_WORLD_RUNS.measured} runs at concurrency 8`);
  const helloWorld = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId: 'hello_world', ...HELLO_WORLD_RUNS });
  log(`raw graphile-worker: ${FAN_OUT_WIDTH} no-op jobs at concurrency 8`);
  const rawWide = await measureRawThroughput(db.pool, cleanup, { count: FAN_OUT_WIDTH, concurrency: 8 });
  log(`fan-out: ${FAN_OUT_RUNS} run(s) of ${FAN_OUT_WIDTH + 2} tasks at concurrency 8, isolated`);
  const fanOut = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId: FAN_OUT_DAG_ID, warmup: 0, measured: FAN_OUT_RUNS, runTimeoutMs: 600_000 });
  log(`fan-out: ${FAN_OUT_RUNS} run(s) of ${FAN_OUT_WIDTH + 2} tasks at concurrency 8, in-process`);
  const fanOutInProcess = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId: FAN_OUT_IN_PROCESS_DAG_ID, warmup: 0, measured: FAN_OUT_RUNS, runTimeoutMs: 600_000 });
  log(`mapped: ${FAN_OUT_RUNS} run(s) of a task mapped over ${MAPPED_COUNT} items + reduce at concurrency 8, isolated`);
  const mapped = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId: MAPPED_DAG_ID, warmup: 0, measured: FAN_OUT_RUNS, runTimeoutMs: 600_000 });
  const mappedExpansion = await expansionMs(db.pool, MAPPED_DAG_ID);
  log(`mapped: the same, in-process`);
  const mappedInProcess = await measureHandoff(db, cleanup, { cacheDir, concurrency: 8, dagId: MAPPED_IN_PROCESS_DAG_ID, warmup: 0, measured: FAN_OUT_RUNS, runTimeoutMs: 600_000 });
  const apiReads = await measureApiOnBenchRuns(db);
  log(`webhooks: ${WEBHOOK_CALLS.warmup} warm-up + ${WEBHOOK_CALLS.measured} calls per figure, over HTTP with a token`);
  const webhook = await measureWebhook(db, cleanup, { dagsDir, cacheDir });

  const raw = summarize(rawLatencies);
  const handoff1 = summarize(chain1.handoffs);
  const handoff1InProcess = summarize(chain1InProcess.handoffs);
  const rows: Row[] = [
    { name: 'raw graphile-worker: add_job commit → handler start (concurrency 1)', summary: raw },
    { name: 'Updraft handoff: try ended_at → next try started_at (concurrency 1)', summary: handoff1 },
    { name: 'Updraft handoff, `isolation: none` (concurrency 1)', summary: handoff1InProcess },
    { name: 'Updraft handoff, tasks that log one line each (concurrency 1)', summary: summarize(chain1Logging.handoffs) },
    { name: `Updraft run wall time, ${CHAIN_LENGTH}-task chain (concurrency 1)`, summary: summarize(chain1.runWallTimes) },
    { name: `the same, tasks that log one line each`, summary: summarize(chain1Logging.runWallTimes) },
    { name: 'Updraft handoff: try ended_at → next try started_at (concurrency 8)', summary: summarize(chain8.handoffs) },
    { name: `Updraft run wall time, ${CHAIN_LENGTH}-task chain (concurrency 8)`, summary: summarize(chain8.runWallTimes) },
    { name: 'hello_world: trigger → run success (concurrency 8)', summary: summarize(helloWorld.runWallTimes) },
    { name: `raw graphile-worker: ${FAN_OUT_WIDTH.toLocaleString('en')} no-op jobs, add_jobs → last job done (concurrency 8)`, summary: summarize([rawWide]) },
    { name: `Updraft run wall time, ${FAN_OUT_WIDTH.toLocaleString('en')} parallel tasks + root + join (concurrency 8)`, summary: summarize(fanOut.runWallTimes) },
    { name: `the same, \`isolation: none\``, summary: summarize(fanOutInProcess.runWallTimes) },
    { name: `trigger → first task start of that run (creating ${FAN_OUT_WIDTH + 2} task instances)`, summary: summarize(fanOut.firstStarts) },
    { name: `Updraft run wall time, a task mapped over ${MAPPED_COUNT.toLocaleString('en')} items + list + reduce (concurrency 8)`, summary: summarize(mapped.runWallTimes) },
    { name: `the same, \`isolation: none\``, summary: summarize(mappedInProcess.runWallTimes) },
    { name: `list task ends → first mapped instance starts (expanding ${MAPPED_COUNT.toLocaleString('en')} instances)`, summary: summarize([mappedExpansion]) },
    ...apiReadRows(apiReads),
    ...webhookRows(webhook),
  ];

  const fanOutP50 = summarize(fanOut.runWallTimes).p50;
  const fanOutInProcessP50 = summarize(fanOutInProcess.runWallTimes).p50;
  const mappedP50 = summarize(mapped.runWallTimes).p50;
  const mappedInProcessP50 = summarize(mappedInProcess.runWallTimes).p50;
  const ratio = [
    ratioLine(handoff1, raw),
    `Handoff p50, isolated / in-process: **${(handoff1.p50 / handoff1InProcess.p50).toFixed(2)}x** (${handoff1.p50.toFixed(2)} ms / ${handoff1InProcess.p50.toFixed(2)} ms).`,
    `${FAN_OUT_WIDTH.toLocaleString('en')}-task fan-out run / the same number of raw jobs: **${(fanOutP50 / rawWide).toFixed(1)}x** isolated, **${(fanOutInProcessP50 / rawWide).toFixed(1)}x** in-process; isolated / in-process: **${(fanOutP50 / fanOutInProcessP50).toFixed(2)}x**.`,
    `${MAPPED_COUNT.toLocaleString('en')}-instance mapped run / the same number of raw jobs: **${(mappedP50 / rawWide).toFixed(1)}x** isolated, **${(mappedInProcessP50 / rawWide).toFixed(1)}x** in-process; mapped / ${FAN_OUT_WIDTH.toLocaleString('en')}-task fan-out: **${(mappedP50 / fanOutP50).toFixed(2)}x**.`,
    apiReadRatios(apiReads),
  ].join('\n\n');
  const elapsedS = (performance.now() - began) / 1000;
  const markdown = benchmarksMarkdown({ machine, rows, ratio, method: METHOD, elapsedS });
  await fs.writeFile(path.resolve(import.meta.dirname, '..', 'BENCHMARKS.md'), markdown);
  console.log(`\n${table(rows)}\n\n${ratio}\n\nWritten to BENCHMARKS.md`);
}

const METHOD = [
  `**Rounds.** The bench alternates: ${ROUNDS} rounds of (raw graphile-worker block, then one Updraft chain run at concurrency 1), then the concurrency-8 runs. Each block starts its own runner or worker and stops it before the next block starts, so the two never compete for jobs, NOTIFYs or CPU, while both see the same background load of a shared machine. Everything runs in one database (raw jobs under their own task identifier), one process, one pg pool (max 20).`,
  `**Raw graphile-worker (the floor).** A bare graphile-worker 0.17 runner (\`run()\`, concurrency 1, the same pg pool and \`pollInterval\` as Updraft's worker) with one no-op task. Jobs are added one at a time with \`SELECT graphile_worker.add_job(...)\` in autocommit; the next job is added only after the previous handler ran and the worker then found the queue empty, so every sample takes the idle path (commit, NOTIFY, get_job, handler). Latency is wall clock in the bench process: \`performance.now()\` just before the add_job statement is sent, versus \`performance.now()\` at the top of the handler, so it includes add_job's own round trip. Per round ${RAW_PER_ROUND.warmup} warm-up jobs are discarded and ${RAW_PER_ROUND.samples} measured.`,
  `**Updraft handoff.** A generated DAG of ${CHAIN_LENGTH} no-op tasks in a chain (t000 → t001 → … → t${String(CHAIN_LENGTH - 1).padStart(3, '0')}) is deployed once and run on an Updraft worker (\`startWorker\`); one warm-up run precedes the first measured run. For each consecutive pair of tasks, handoff = the next task's \`task_try.started_at\` − the previous task's \`task_try.ended_at\`, both database clock (\`clock_timestamp()\` in the finish and claim statements). A handoff therefore spans the rest of the finishing transaction after its first statement (trigger rules of the downstream task, enqueueing its job, the run-end check, COMMIT), the handler returning, graphile-worker fetching the next job (at concurrency 1 the job is already committed when the worker loops, so no NOTIFY is waited for; at concurrency 8 an idle worker is woken by the NOTIFY), and the claim statement up to its timestamp. Run wall time is \`dag_run.ended_at − started_at\`, one value per measured run.`,
  `**hello_world.** \`examples/dags/hello_world.ts\` (three tasks in a line) is triggered ${HELLO_WORLD_RUNS.measured} times, one run after the other, after ${HELLO_WORLD_RUNS.warmup} warm-up run; the figure is \`dag_run.ended_at − started_at\`, where \`started_at\` is set in the trigger's own transaction: trigger to run success.`,
  `**Logging.** The same chain, isolated, whose tasks each log one line (\`context().log.info\`), run after the in-process one in each round: a line logged by a short task goes with its finishing transaction, so a handoff should cost what a silent task's does (ARCHITECTURE.md, "Log lines while a try runs").`,
  `**Isolation.** Every Updraft figure is measured twice where it says so: with the default \`isolation: 'process'\` (task code in the worker's pool of warm task processes, arguments and results over IPC) and with \`isolation: 'none'\` (task code in the worker's own process), the in-process run right after the isolated one.`,
  `**Mapped.** One run of a DAG whose first task returns ${MAPPED_COUNT.toLocaleString('en')} numbers, a no-op task mapped over them (\`noop.map(list())\`, expanded into ${MAPPED_COUNT.toLocaleString('en')} instances when \`list\` ends) and a task that sums the mapped outputs, at concurrency 8, isolated and in-process; its baseline is the same raw burn-down as the fan-out's. Expansion is measured from the \`list\` try's \`ended_at\` to the first mapped try's \`started_at\` (database clock), which spans the finishing transaction that expands and enqueues every instance.`,
  `**API reads.** What a dashboard asks of a 10,000-task DAG, through the GraphQL handler in process (\`createApi(...).fetch\`: parse, validate, cost, authorize, resolve, serialize; no socket), each sample followed by its baseline, a plain SELECT of the same rows on the same pg pool, so both see the same load; ${API_READS.warmup} warm-up samples, then ${API_READS.samples}. Two DAGs: the isolated fan-out (10,002 tasks) and the isolated mapped DAG (10,000 instances of one task); after its real run each gets a history of ${API_READS.runs} runs (copies of the real run's task instances, about 1% of them failed, written in one statement and analyzed). *First page*: \`dagRun(id) { taskInstances(first: ${API_READS.pageSize}) { … } }\` of the real run (7 fields per instance and the page info) next to \`SELECT … FROM task_instance WHERE dag_run_id = $1 ORDER BY task_id, map_index LIMIT ${API_READS.pageSize + 1}\`. *Grid*: \`dagGrid(dagId, runs: ${API_READS.runs}) { runs { … } rows(first: ${API_READS.pageSize}) { … cells { dagRunId state instances counts { state count } } } }\` next to the runs' SELECT and the cells' statement the API sends (for the fan-out, one probe of the unique key per cell of the first ${API_READS.pageSize} tasks × ${API_READS.runs} runs; for the mapped DAG, whose 3 tasks fit one page, a GROUP BY over the ${API_READS.runs} runs' 250,000 instances). The budget for each is p95 ≤ 200 ms.`,
  `**Webhooks.** The API is served on a loopback port with tokens required; each call is a real HTTP \`POST /api/dags/<id>/trigger\` (Node's fetch, \`Authorization: Bearer\` of an op token, a small JSON conf), made after the previous run ended, on one worker at concurrency 4 (${WEBHOOK_CALLS.warmup} warm-up calls, then ${WEBHOOK_CALLS.measured}). *Webhook → first task start*: the bench's clock just before the request is sent to the run's first \`task_try.started_at\` (database clock, same machine). *Asset event → first task start*: \`POST /api/assets/events\` for an asset a DAG is scheduled on, to the first try of the asset-triggered run it causes: the event's NOTIFY wakes the scheduler, which creates the run (NOTIFY again for the worker).`,
  `**Fan-out.** One run of a DAG with a root, ${FAN_OUT_WIDTH.toLocaleString('en')} no-op tasks after it and one task after all of them, on one worker at concurrency 8 (the machine has 2 cores): run wall time as above, and the time from the trigger's transaction to the root task's start, which includes creating every task instance. Its baseline: ${FAN_OUT_WIDTH.toLocaleString('en')} no-op jobs added to graphile-worker in one \`add_jobs\` call and run by a bare runner at the same concurrency, from the add to the last job's end.`,
];

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
  await fs.mkdir(path.join(dagsDir, 'node_modules', '@updraft'), { recursive: true });
  await fs.symlink(path.resolve(import.meta.dirname, '..', 'sdk'), path.join(dagsDir, 'node_modules', '@updraft', 'sdk'), 'dir');
  log(`webhooks: ${WEBHOOK_CALLS.warmup} warm-up + ${WEBHOOK_CALLS.measured} calls per figure, over HTTP with a token`);
  const figures = await measureWebhook(db, cleanup, { dagsDir, cacheDir: bundleCacheDir({ home }) });
  console.log(`\n${table(webhookRows(figures))}`);
}

/** `npm run bench -- --api-only`: one run of each 10,000-task DAG, then the API's reads, printed (BENCHMARKS.md is left alone). */
async function apiOnly(db: Database, home: string, dagsDir: string, cleanup: Cleanup): Promise<void> {
  await fs.mkdir(path.join(dagsDir, 'node_modules', '@updraft'), { recursive: true });
  await fs.symlink(path.resolve(import.meta.dirname, '..', 'sdk'), path.join(dagsDir, 'node_modules', '@updraft', 'sdk'), 'dir');
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

function append(into: HandoffResult, from: HandoffResult): void {
  into.handoffs.push(...from.handoffs);
  into.runWallTimes.push(...from.runWallTimes);
  into.firstStarts.push(...from.firstStarts);
}

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

await runWithCleanup(main);
