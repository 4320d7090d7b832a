// Where the time of a concurrency-1 handoff goes, from the client's side of every statement:
// `npx tsx bench/profile-handoff.ts`. An investigation aid, not part of `npm run bench`.
import { performance } from 'node:perf_hooks';
import { bundleCacheDir } from '../server/src/config.js';
import { runWithCleanup, type Cleanup } from './cleanup.js';
import { openBenchDatabase } from './environment.js';
import { deployChain, measureHandoff, writeChainDag } from './handoff.js';
import { traceQueries, type TracedQuery } from './query-trace.js';
import { summarize } from './stats.js';

const CHAIN_LENGTH = 100;
const RUNS = 5;

async function main(cleanup: Cleanup): Promise<void> {
  const { db, home, dagsDir } = await openBenchDatabase(cleanup);
  await writeChainDag(dagsDir, CHAIN_LENGTH);
  const cacheDir = bundleCacheDir({ home });
  await deployChain(db.prisma, dagsDir, cacheDir);
  await measureHandoff(db, cleanup, { cacheDir, concurrency: 1, warmup: 1, measured: 0 });

  const trace = traceQueries();
  let result;
  try {
    result = await measureHandoff(db, cleanup, { cacheDir, concurrency: 1, warmup: 0, measured: RUNS });
  } finally {
    trace.stop();
  }
  const segments = handoffSegments(trace.queries);
  print('handoff, database clock (task_try)', result.handoffs);
  for (const [name, values] of segments) print(name, values);

  console.log('\nround trips of the statements on the path (all tries):');
  const byLabel = new Map<string, number[]>();
  for (const q of trace.queries) byLabel.set(q.label, [...(byLabel.get(q.label) ?? []), q.doneAt - q.sentAt]);
  for (const [label, values] of [...byLabel].sort((a, b) => b[1].length - a[1].length)) print(label, values);

  console.log('\nbaseline round trips on this server:');
  await db.pool.query('CREATE TABLE bench_commit (x int)');
  print('SELECT 1', await timeEach(200, () => db.pool.query('SELECT 1')));
  print('INSERT one row, autocommit (WAL flush)', await timeEach(200, () => db.pool.query('INSERT INTO bench_commit VALUES (1)')));
  print('pool.connect + release', await timeEach(200, async () => (await db.pool.connect()).release()));
}

/**
 * Splits each handoff into the statements of the finishing transaction that carry it: a try
 * that ends alone claims the next instance inside that transaction (transitions.ts ContinueWith),
 * so the handoff runs from finish_try (where ended_at is taken) to the claim (started_at), and
 * the COMMIT follows. Each statement after finish_try: its round trip, and the worker's time
 * before sending it.
 */
function handoffSegments(queries: TracedQuery[]): Map<string, number[]> {
  const segments = new Map<string, number[]>();
  const add = (name: string, value: number) => segments.set(name, [...(segments.get(name) ?? []), value]);
  for (const finish of queries.filter((q) => q.label === 'updraft_finish_try')) {
    const tx = queries.filter((q) => q.client === finish.client && q.sentAt > finish.sentAt);
    // The COMMIT goes with the transaction's NOTIFYs, in one simple query (db/transaction.ts).
    const end = tx.findIndex((q) => q.label === 'COMMIT' || q.label === 'ROLLBACK' || q.label.startsWith('NOTIFY'));
    const statements = tx.slice(0, end + 1);
    const claim = statements.find((q) => q.label === 'updraft_claim_task_instances');
    if (!claim) continue; // the last task of a run: no handoff
    let previous = finish;
    for (const q of statements) {
      add(`  worker, then ${q.label} sent`, q.sentAt - previous.doneAt);
      add(`  ${q.label} round trip`, q.doneAt - q.sentAt);
      previous = q;
    }
    add('total, finish_try answered → claim answered', claim.doneAt - finish.doneAt);
    // The next try of this slot: from its claim to its own finish_try (running the task, its COMMIT before).
    const nextFinish = queries.find((q) => q.label === 'updraft_finish_try' && q.client === finish.client && q.sentAt > claim.doneAt);
    const nextBegin = nextFinish && queries.filter((q) => q.client === finish.client && q.sentAt < nextFinish.sentAt).findLast((q) => q.label === 'BEGIN');
    if (nextBegin) add('inside a try: COMMIT answered → BEGIN of its finish sent (the task runs)', nextBegin.sentAt - previous.doneAt);
    add('total, finish_try answered → COMMIT answered', previous.doneAt - finish.doneAt);
  }
  return segments;
}

async function timeEach(times: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

function print(name: string, values: number[]): void {
  const s = summarize(values);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`${name.padEnd(58)} n=${String(s.n).padStart(5)}  p50 ${s.p50.toFixed(2).padStart(6)}  p90 ${s.p90.toFixed(2).padStart(6)}  mean ${mean.toFixed(2).padStart(6)} ms`);
}

await runWithCleanup(main);
