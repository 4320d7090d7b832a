import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../bench/cleanup.js';
import { mappedDagId, writeBenchDags } from '../bench/dags.js';
import { benchmarksMarkdown, figure, jsonLine, REQUIRED_FIGURES } from '../bench/figures.js';
import { startFleet } from '../bench/worker-fleet.js';
import { createTestPlatform, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

// The bench's output is a contract (issue 12): one JSON line per figure with these keys, and
// every figure the issue names in BENCHMARKS.md.
describe('bench figures', () => {
  it('prints one JSON line with the contract keys in order, ratio = updraft / baseline', () => {
    const line = jsonLine(figure('chain200.handoff.p50', 'ms', { updraft: 3.1, baseline: 1.6, peer: 4 }));
    expect(line).toBe('{"figure":"chain200.handoff.p50","unit":"ms","updraft":3.1,"baseline":1.6,"peer":4,"ratio":1.938}');
  });

  it('has null where a column does not apply, and no ratio without a baseline', () => {
    expect(JSON.parse(jsonLine(figure('idle.queries_per_s', 'queries/s', { updraft: 0.5 })))).toEqual({
      figure: 'idle.queries_per_s',
      unit: 'queries/s',
      updraft: 0.5,
      baseline: null,
      peer: null,
      ratio: null,
    });
    expect(figure('x.y', 'ms', { updraft: Number.NaN, baseline: 2 }).updraft).toBeNull();
  });

  it('writes every figure of the issue into the table, with targets met or missed', () => {
    const figures = REQUIRED_FIGURES.map(([name, unit]) => figure(name, unit, { updraft: 1, baseline: 10 }));
    const markdown = benchmarksMarkdown({
      machine: { cpus: 2, memoryGiB: 4, node: 'v20', postgres: 'PostgreSQL 15.18 (Debian)', postgresShort: 'PostgreSQL 15.18', database: 'test', date: '2026-12-01T00:00:00Z', dbos: '5.3.0' },
      figures,
      notes: new Map([['fanout10k.tasks_per_s', { measuredOver: '2,000 tasks' }]]),
      quick: true,
      elapsedS: 100,
      method: [],
      findings: [],
    });
    expect(markdown).toContain('| figure | unit | Updraft | baseline | peer | ratio | machine | date |');
    for (const [name] of REQUIRED_FIGURES) expect(markdown).toContain(`| \`${name}\``);
    expect(markdown).toContain('PostgreSQL 15.18');
    expect(markdown).toContain('**Quick run**');
    expect(markdown).toContain('(quick: over 2,000 tasks)');
    // ratio 0.1: a fan-out at 10% of raw misses its ≥ 50% target; 1 ms handoff p99 meets ≤ 25 ms.
    expect(markdown).toMatch(/`fanout1k.tasks_per_s` \| [^|]+ \| [^|]+ \| \*\*missed\*\*/);
    expect(markdown).toMatch(/`chain200.handoff.p99` \| [^|]+ \| [^|]+ \| \*\*met\*\*/);
  });
});

// Issue 12 item 4: worker processes of their own on one database share one fan-out.
describe('bench scale-out', () => {
  let platform: TestPlatform;
  const cleanup = new Cleanup();
  beforeAll(async () => {
    platform = await createTestPlatform();
    const dir = path.join(TEST_SCRATCH, 'dags', `bench-${process.pid}`);
    await fs.rm(dir, { recursive: true, force: true });
    await writeBenchDags(dir, { chainLengths: [], mappedCounts: [300], wideWidth: 10, layeredTasks: 5 });
    expect((await platform.deploy(dir)).importErrors).toEqual([]);
  });
  afterAll(async () => {
    await cleanup.run();
    await platform.close();
  });

  it('runs a 300-instance mapped fan-out on 2 worker processes, each instance once, shared by both', async () => {
    const fleet = await startFleet(2, { databaseUrl: platform.db.url, cacheDir: platform.cacheDir, concurrency: 4 }, cleanup);
    const runId = await platform.trigger(mappedDagId(300));
    expect(await fleet.runEnded(runId, 90_000)).toBe('success');
    const { rows } = await platform.pool.query<{ task_id: string; instances: number; tries: number; workers: number }>(
      `SELECT ti.task_id, count(DISTINCT ti.id)::int AS instances, count(tt.id)::int AS tries, count(DISTINCT tt.worker_id)::int AS workers
       FROM task_instance ti JOIN task_try tt ON tt.task_instance_id = ti.id WHERE ti.dag_run_id = $1 GROUP BY ti.task_id ORDER BY ti.task_id`,
      [runId],
    );
    const noop = rows.find((r) => r.task_id === 'noop')!;
    expect(noop).toMatchObject({ instances: 300, tries: 300, workers: 2 });
    const sum = (await platform.taskInstances(runId)).find((ti) => ti.taskId === 'sum')!;
    expect(sum.returnValue).toBe((300 * 299) / 2);
    const rss = fleet.rss();
    expect(rss.main.every((mb) => mb > 10)).toBe(true);
    await fleet.stop();
    expect(fleet.rss().main).toEqual([0, 0]);
  }, 120_000);
});
