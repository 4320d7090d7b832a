// How much a try may log (executor/try-log.ts, log-limits.ts): 10,000 lines / 5 MB by
// default, configurable per worker, then one marker line; a task logging 100,000 lines or
// 20 MB costs the worker and the database no more than the caps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/src/db/pool.js';
import { TryLog } from '../server/src/executor/try-log.js';
import { resolveConfig } from '../server/src/config.js';
import { closedPort } from './support/ports.js';
import { createTestPlatform, dagFolder, type TestPlatform } from './support/platform.js';

const DAGS = {
  'flood.ts': `
import { context, dag, task } from '@updraft/sdk';
// 100,000 lines through context().log in a task process (the default isolation).
const lines = task('lines', () => { for (let i = 0; i < 100_000; i++) context().log.info('line ' + i, { i }); return 'done'; });
// 20 MB through console.log in the worker's own process: 20,000 lines of 1 KB.
const big = task({ id: 'big', isolation: 'none' }, () => { const kb = 'x'.repeat(1024); for (let i = 0; i < 20_000; i++) console.log(kb); return 'done'; });
// One 20 MB line.
const huge = task('huge', () => { context().log.warn('y'.repeat(20 * 1024 * 1024)); return 'done'; });
export default dag({ id: 'flood' }, () => { lines(); big(); huge(); });
`,
};

describe('log limits', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder(DAGS))).importErrors).toEqual([]);
  });
  afterAll(async () => platform?.close());

  const stored = async (runId: number, taskId: string) => {
    const [row] = await platform.pool.query<{ lines: number; bytes: string; last: string; fields: unknown }>(
      `SELECT count(*)::int AS lines, sum(octet_length(l.message) + coalesce(octet_length(l.fields::text), 0))::text AS bytes,
              (array_agg(l.message ORDER BY l.seq DESC))[1] AS last, (array_agg(l.fields ORDER BY l.seq DESC))[1] AS fields
       FROM task_log l JOIN task_try t ON t.id = l.task_try_id JOIN task_instance ti ON ti.id = t.task_instance_id
       WHERE ti.dag_run_id = $1 AND ti.task_id = $2`,
      [runId, taskId],
    ).then((r) => r.rows);
    return { ...row!, bytes: Number(row!.bytes) };
  };

  it('caps 100,000 lines at 10,000 and 20 MB at 5 MB per try, each ending with the marker', async () => {
    const worker = await platform.startWorker(3);
    const runId = await platform.trigger('flood');
    expect(await platform.waitForRun(runId, 120_000)).toBe('success');
    await worker.stop();

    const lines = await stored(runId, 'lines');
    expect(lines.lines).toBe(10_001);
    expect(lines.last.slice(0, 200)).toMatch(/^\[log truncated: 90000 more line\(s\) .* past the limit of 10000 lines \/ 5 MB per try\]$/);
    expect(lines.fields).toEqual({ truncated: true, droppedLines: 90_000 });

    const big = await stored(runId, 'big');
    expect(big.bytes).toBeLessThanOrEqual(5 * 1024 * 1024 + 1024);
    expect(big.bytes).toBeGreaterThan(5 * 1024 * 1024 - 2048);
    expect(big.lines).toBe(5 * 1024 + 1); // 5,120 lines of 1 KB fill 5 MB, then the marker
    expect(big.last.slice(0, 200)).toMatch(/^\[log truncated: 14880 more line\(s\) \(~14\.5 MB\) past the limit/);

    // A 20 MB line is cut to 64 KB where it is logged (in the task's process), never carried whole.
    const huge = await stored(runId, 'huge');
    expect(huge.lines).toBe(1);
    expect(huge.bytes).toBeLessThan(70 * 1024);
    expect(huge.last.slice(-40)).toMatch(/… \[20905984 more characters cut\]$/);
  }, 150_000);

  it('keeps at most the caps in the worker while the database is away', async () => {
    // Every write fails (nothing listens): all lines wait in memory, and only up to the cap.
    const pool = createPool(`postgres://nobody@127.0.0.1:${await closedPort()}/none`, { onError: () => undefined });
    const log = new TryLog(pool, '1', undefined, undefined, { maxLines: 1_000, maxBytes: 100 * 1024 });
    const line = 'z'.repeat(200);
    for (let i = 0; i < 100_000; i++) log.add({ level: 'info', message: line, fields: undefined });
    const waiting = await log.settle(AbortSignal.abort());
    await pool.end();
    // 100 KB / 200 B = 512 lines fit, then the marker: 20 MB logged, 100 KB kept.
    expect(waiting).toHaveLength(513);
    expect(waiting.at(-1)!.message).toMatch(/^\[log truncated: 99488 more line\(s\) \(~19 MB\) past the limit of 1000 lines \/ 100 KB per try\]$/);
  });

  it('is configured per worker: settings, environment, CLI flags; bad values are refused', () => {
    expect(resolveConfig({})).toMatchObject({ logMaxLines: 10_000, logMaxBytes: 5 * 1024 * 1024 });
    process.env.UPDRAFT_LOG_MAX_LINES = '500';
    process.env.UPDRAFT_LOG_MAX_BYTES = '2MB';
    try {
      expect(resolveConfig({})).toMatchObject({ logMaxLines: 500, logMaxBytes: 2 * 1024 * 1024 });
      expect(resolveConfig({ logMaxLines: 7 })).toMatchObject({ logMaxLines: 7 });
      process.env.UPDRAFT_LOG_MAX_BYTES = 'lots';
      expect(() => resolveConfig({})).toThrow('UPDRAFT_LOG_MAX_BYTES must be a size such as "5MB", got "lots"');
    } finally {
      delete process.env.UPDRAFT_LOG_MAX_LINES;
      delete process.env.UPDRAFT_LOG_MAX_BYTES;
    }
    expect(() => resolveConfig({ logMaxLines: 0 })).toThrow('the log line limit must be a whole number of at least 1, got 0');
  });
});
