// The peer: DBOS Transact (durable workflows on PostgreSQL) doing the bench's workloads on the
// same server, in the bench's database (its system tables in their own schema, `dbos`).
import { performance } from 'node:perf_hooks';
import { DBOS } from '@dbos-inc/dbos-sdk';
import type { Cleanup } from './cleanup.js';

/** How often the peer's queue is polled for work: DBOS's default is 1 s, which would make it look slower than it is. */
export const DBOS_QUEUE_POLL_MS = 10;
const QUEUE = 'bench_fan_out';

let stepEndedAt = 0;
let handoffs: number[] | undefined;

/** A no-op step that passes a small value on, noting when the previous step's body returned. */
async function noopStep(value: number): Promise<number> {
  const startedAt = performance.now();
  if (handoffs && stepEndedAt > 0) handoffs.push(startedAt - stepEndedAt);
  stepEndedAt = performance.now();
  return value + 1;
}

/** The chain: `length` steps, each a checkpointed no-op handing its value to the next. */
const chainWorkflow = DBOS.registerWorkflow(
  async (length: number) => {
    let value = 0;
    for (let i = 0; i < length; i++) value = await DBOS.runStep(() => noopStep(value), { name: `t${i}` });
    return value;
  },
  { name: 'bench_chain' },
);

/** One mapped no-op task of the fan-out: a workflow (so a queue can run it) of one step. */
const noopWorkflow = DBOS.registerWorkflow(async (n: number) => DBOS.runStep(async () => n, { name: 'noop' }), { name: 'bench_noop' });

/** A run of the "many runs" workload: `tasks` no-op steps in a row. */
const stepsWorkflow = DBOS.registerWorkflow(
  async (tasks: number) => {
    let value = 0;
    for (let i = 0; i < tasks; i++) value = await DBOS.runStep(() => noopStep(value), { name: `t${i}` });
    return value;
  },
  { name: 'bench_steps' },
);
const RUNS_QUEUE = 'bench_runs';

/**
 * DBOS launched on `databaseUrl`, with its queues at `concurrency`; returns its shutdown (which
 * `cleanup` runs otherwise). Its queue polling must stop before anything counts statements.
 */
export async function launchDbos(databaseUrl: string, cleanup: Cleanup, opts: { concurrency: number }): Promise<() => Promise<void>> {
  DBOS.setConfig({ name: 'updraft-bench', systemDatabaseUrl: databaseUrl, logLevel: 'error', systemDatabasePoolSize: 20 });
  await DBOS.launch();
  const shutdown = cleanup.defer('shut DBOS down', () => DBOS.shutdown());
  for (const name of [QUEUE, RUNS_QUEUE]) {
    await DBOS.registerQueue(name, { workerConcurrency: opts.concurrency, minPollingIntervalMs: DBOS_QUEUE_POLL_MS, onConflict: 'always_update' });
  }
  return shutdown;
}

export interface PeerChainResult {
  perStep: number[];
  handoffs: number[];
}

/** `chains` chain workflows of `length` steps one after the other (after one warm-up). */
export async function measureDbosChain(opts: { length: number; chains: number }): Promise<PeerChainResult> {
  const result: PeerChainResult = { perStep: [], handoffs: [] };
  for (let i = 0; i <= opts.chains; i++) {
    handoffs = i > 0 ? result.handoffs : undefined;
    stepEndedAt = 0;
    const began = performance.now();
    const handle = await DBOS.startWorkflow(chainWorkflow)(opts.length);
    const value = await handle.getResult();
    if (value !== opts.length) throw new Error(`the DBOS chain returned ${value}, not ${opts.length}`);
    if (i > 0) result.perStep.push((performance.now() - began) / opts.length);
  }
  handoffs = undefined;
  return result;
}

/**
 * Tasks per second of a fan-out + reduce of `count` queued no-op workflows: enqueued from outside
 * a workflow in parallel batches of 100 (DBOS's fastest way to fill a queue: a parent workflow
 * enqueueing its children one checkpointed call at a time, as DBOS's README shows, was 5× slower
 * here), waited for with `DBOS.waitAll`, and their results summed; start → sum.
 */
export async function measureDbosFanOut(opts: { count: number }): Promise<number> {
  const began = performance.now();
  const handles = [];
  for (let i = 0; i < opts.count; i += 100) {
    const batch = Array.from({ length: Math.min(100, opts.count - i) }, (_, j) => DBOS.startWorkflow(noopWorkflow, { queueName: QUEUE })(i + j));
    handles.push(...(await Promise.all(batch)));
  }
  await DBOS.waitAll(handles, { pollingIntervalMs: DBOS_QUEUE_POLL_MS });
  let sum = 0;
  for (const h of handles) sum += await h.getResult();
  const expected = (opts.count * (opts.count - 1)) / 2;
  if (sum !== expected) throw new Error(`the DBOS fan-out summed ${sum}, not ${expected}`);
  return opts.count / ((performance.now() - began) / 1000);
}

/** Wall ms of `runs` workflows of `tasks` steps each, enqueued at once on a queue of the bench's concurrency. */
export async function measureDbosRuns(opts: { runs: number; tasks: number }): Promise<number> {
  const began = performance.now();
  const handles = await Promise.all(Array.from({ length: opts.runs }, () => DBOS.startWorkflow(stepsWorkflow, { queueName: RUNS_QUEUE })(opts.tasks)));
  await DBOS.waitAll(handles, { pollingIntervalMs: DBOS_QUEUE_POLL_MS });
  for (const h of handles) if ((await h.getResult()) !== opts.tasks) throw new Error('a DBOS run did not do all its steps');
  return performance.now() - began;
}
