// XCom at any size (server/src/xcom): values keep their types (devalue), go to the object
// store above the inline threshold with only a reference row, fail their task past the hard
// maximum, and their blobs are deleted with their rows.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteDag } from '../server/src/dags/delete.js';
import { clearTaskInstances } from '../server/src/executor/interventions.js';
import type { Worker } from '../server/src/executor/worker.js';
import { LocalXComStore } from '../server/src/xcom/store.js';
import { sweepDeletedBlobs } from '../server/src/xcom/values.js';
import { createTestPlatform, dagFolder, graphql, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

const FAITHFUL = `{
  map: new Map<unknown, unknown>([['a', 1], [2, new Date('2026-01-02T03:04:05Z')]]),
  set: new Set([1n, 'x']),
  date: new Date('2026-01-02T03:04:05Z'),
  big: 12345678901234567890n,
  nothing: undefined,
  bytes: new Uint8Array([0, 1, 255]),
  floats: new Float64Array([1.5, -0]),
  nul: 'a\\u0000b',
  nested: { list: [1, 'two', null, { three: [3] }] },
  notANumber: NaN,
}`;

const DAGS = {
  'faithful.ts': `
import { dag, task } from '@updraft/sdk';
const make = task('make', () => (${FAITHFUL}));
// What arrived, checked where it arrived (an isolated process, then the worker's own).
const describe = (v: any) => ({
  map: v.map instanceof Map && v.map.get('a') === 1 && v.map.get(2) instanceof Date,
  set: v.set instanceof Set && v.set.has(1n),
  date: v.date instanceof Date && v.date.toISOString() === '2026-01-02T03:04:05.000Z',
  big: v.big === 12345678901234567890n,
  nothing: 'nothing' in v && v.nothing === undefined,
  bytes: v.bytes instanceof Uint8Array && v.bytes.join() === '0,1,255',
  floats: v.floats instanceof Float64Array && Object.is(v.floats[1], -0),
  nul: v.nul === 'a\\u0000b',
  notANumber: Number.isNaN(v.notANumber),
});
const isolated = task('isolated', describe);
const inProcess = task({ id: 'in_process', isolation: 'none' }, describe);
const again = task({ id: 'again', isolation: 'none' }, (v: any) => v);
const last = task('last', describe);
export default dag({ id: 'faithful' }, () => { const v = make(); isolated(v); inProcess(v); last(again(v)); });
`,
  'large.ts': `
import { dag, task } from '@updraft/sdk';
// About 5 MB: 50,000 rows, with a Map and a Date among them.
const big = task('big', () => ({
  rows: Array.from({ length: 50_000 }, (_, i) => ({ id: i, name: 'row ' + i, tags: ['a', 'b'], score: i / 7 })),
  index: new Map([['first', 0]]),
  at: new Date('2026-01-02T03:04:05Z'),
}));
const check = task('check', (v: any) => ({
  rows: v.rows.length,
  last: v.rows[49_999].name,
  sum: v.rows.reduce((a: number, r: any) => a + r.id, 0),
  map: v.index instanceof Map && v.index.get('first') === 0,
  date: v.at instanceof Date,
}));
const inline = task('inline', () => ({ small: true, at: new Date(0) }));
export default dag({ id: 'large' }, () => { check(big()); inline(); });
`,
  'hostile.ts': `
import { dag, task } from '@updraft/sdk';
class Point { x = 1; }
const fn = task('fn', () => ({ ok: 1, callback: () => 2 }));
const symbol = task('symbol', () => [Symbol('s')]);
const instance = task('instance', () => ({ where: new Point() }));
const deep = task('deep', () => { let v: unknown[] = []; for (let i = 0; i < 100_000; i++) v = [v]; return v; });
const cyclic = task('cyclic', () => { const a: any = { name: 'a' }; a.self = a; return a; });
const cycleSeen = task('cycle_seen', (a: any) => a.self === a && a.self.self.name === 'a');
const tooBig = task('too_big', () => 'x'.repeat(10 * 1024 * 1024));
export default dag({ id: 'hostile' }, () => { fn(); symbol(); instance(); deep(); cycleSeen(cyclic()); tooBig(); });
`,
  'mapping.ts': `
import { dag, task, zip } from '@updraft/sdk';
const dates = task('dates', () => [new Date(0), new Date(1000)]);
const each = task('each', (d: Date) => (d instanceof Date ? d.getTime() : 'not a Date'));
// A list in the object store (about 200 KB), of items with Maps.
const rows = task('rows', () => Array.from({ length: 40 }, (_, i) => ({ i, index: new Map([['i', i]]), pad: String(i).padEnd(5000, 'p') })));
const row = task({ id: 'row', isolation: 'none' }, (r: { i: number; index: Map<string, number> }) => r.index instanceof Map && r.index.get('i') === r.i);
// Chained: each instance returns a Date, which the next mapped task receives as a Date.
const later = task('later', (d: Date) => new Date(d.getTime() + 1));
const zipped = task('zipped', ([d, n]: [Date, number]) => n);
export default dag({ id: 'map_rich' }, () => {
  const d = dates();
  each.map(d);
  row.map(rows());
  each.map(later.map(d));
});
export const zipping = dag({ id: 'map_zip' }, () => { zipped.map(zip(dates(), [1, 2])); });
`,
};

describe('XCom at any size', () => {
  let platform: TestPlatform;
  let worker: Worker;
  const store = new LocalXComStore(path.join(TEST_SCRATCH, 'xcom-test', String(process.pid)));
  beforeAll(async () => {
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder(DAGS))).importErrors).toEqual([]);
    worker = await platform.startWorker(4, { xcomStore: store, xcomMaxBytes: 8 * 1024 * 1024 });
  });
  afterAll(async () => {
    await platform?.close();
    await fs.rm(store.folder, { recursive: true, force: true });
  });

  const rowsOf = (runId: number) =>
    platform.pool
      .query<{ task_id: string; encoding: string; value: unknown; serialized: string | null; blob_key: string | null; size_bytes: number }>(
        'SELECT ti.task_id, x.encoding, x.value, x.serialized, x.blob_key, x.size_bytes FROM xcom x JOIN task_instance ti ON ti.id = x.task_instance_id WHERE ti.dag_run_id = $1',
        [runId],
      )
      .then((r) => Object.fromEntries(r.rows.map((row) => [row.task_id, row])));
  const triesOf = (runId: number) =>
    platform.db.prisma.taskTry
      .findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: { select: { taskId: true } } } })
      .then((tries) => Object.fromEntries(tries.map((t) => [t.taskInstance.taskId, { state: t.state, error: t.error as { name: string; message: string } | null }])));

  it('keeps Date, Map, Set, BigInt, undefined, typed arrays, NaN, -0 and NUL across tasks, isolated or in-process', async () => {
    const runId = await platform.trigger('faithful');
    expect(await platform.waitForRun(runId)).toBe('success');
    const values = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]));
    const allTrue = { map: true, set: true, date: true, big: true, nothing: true, bytes: true, floats: true, nul: true, notANumber: true };
    expect(values.isolated).toEqual(allTrue);
    expect(values.in_process).toEqual(allTrue);
    expect(values.last).toEqual(allTrue);
    const rows = await rowsOf(runId);
    expect(rows.make).toMatchObject({ encoding: 'devalue', value: null, blob_key: null });
    expect(rows.isolated).toMatchObject({ encoding: 'json', serialized: null }); // plain JSON stays jsonb
  });

  it('passes a 5 MB object to its downstream task intact, with only a reference row in the xcom table', async () => {
    const runId = await platform.trigger('large');
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');
    const values = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]));
    expect(values.check).toEqual({ rows: 50_000, last: 'row 49999', sum: (49_999 * 50_000) / 2, map: true, date: true });
    const rows = await rowsOf(runId);
    expect(rows.big).toMatchObject({ encoding: 'devalue', value: null, serialized: null, blob_key: expect.stringMatching(/^large\/\d+\/big\/\d+-[0-9a-f-]+\.devalue$/) });
    expect(rows.big!.size_bytes).toBeGreaterThan(4 * 1024 * 1024);
    const [{ bytes }] = (await platform.pool.query<{ bytes: number }>('SELECT pg_column_size(x.*)::int AS bytes FROM xcom x WHERE blob_key = $1', [rows.big!.blob_key])).rows as [{ bytes: number }];
    expect(bytes).toBeLessThan(1024); // the row is a reference, not the value
    expect((await fs.stat(store.describe(rows.big!.blob_key!))).size).toBe(rows.big!.size_bytes);
    expect(rows.inline).toMatchObject({ blob_key: null, encoding: 'devalue' });
    // Nothing left booked for deletion: the finishing transaction kept the blob.
    expect((await platform.pool.query('SELECT key FROM xcom_blob_tombstone')).rows).toEqual([]);
  });

  it('shows large and non-JSON values in the API without loading blobs: markers, and a size and reference', async () => {
    const runId = await platform.trigger('large');
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');
    const faithful = await platform.trigger('faithful');
    expect(await platform.waitForRun(faithful)).toBe('success');
    const query = `query($id: ID!) { dagRun(id: $id) { taskInstances(first: 10) { edges { node { taskId returnValue xcoms { key sizeBytes encoding storedIn reference value } } } } } }`;
    type Node = { taskId: string; returnValue: unknown; xcoms: Array<{ key: string; sizeBytes: number; encoding: string; storedIn: string; reference: string | null; value: unknown }> };
    const read = async (id: number) =>
      Object.fromEntries(
        (await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: Node }> } } }>(platform, query, { id: String(id) })).dagRun.taskInstances.edges.map((e) => [e.node.taskId, e.node]),
      );
    const large = await read(runId);
    expect(large.big!.returnValue).toEqual({ $blob: { sizeBytes: large.big!.xcoms[0]!.sizeBytes, reference: expect.stringMatching(/^large\//) } });
    expect(large.big!.xcoms[0]).toMatchObject({ encoding: 'devalue', storedIn: 'object_store', reference: expect.stringMatching(/^large\//) });
    const made = (await read(faithful)).make!;
    expect(made.xcoms[0]).toMatchObject({ encoding: 'devalue', storedIn: 'database', reference: null });
    expect(made.returnValue).toEqual({
      map: { $map: [['a', 1], [2, { $date: '2026-01-02T03:04:05.000Z' }]] },
      set: { $set: [{ $bigint: '1' }, 'x'] },
      date: { $date: '2026-01-02T03:04:05.000Z' },
      big: { $bigint: '12345678901234567890' },
      nothing: { $undefined: true },
      bytes: { $typedArray: 'Uint8Array', base64: 'AAH/' },
      floats: { $typedArray: 'Float64Array', base64: expect.any(String) },
      nul: 'a\u0000b',
      nested: { list: [1, 'two', null, { three: [3] }] },
      notANumber: { $number: 'NaN' },
    });
  });

  it('fails hostile values with a clear error naming the task: functions, symbols, class instances, deep nesting, over the maximum; keeps cycles', async () => {
    const runId = await platform.trigger('hostile');
    expect(await platform.waitForRun(runId, 60_000)).toBe('failed');
    const tries = await triesOf(runId);
    const failed = (message: RegExp) => ({ state: 'failed', error: expect.objectContaining({ name: 'ResultNotStorable', message: expect.stringMatching(message) }) });
    expect(tries.fn).toMatchObject(failed(/^Task "fn" returned a value that holds a function at \.callback; return data/));
    expect(tries.symbol).toMatchObject(failed(/^Task "symbol" returned a value that holds a symbol at \[0\]/));
    expect(tries.instance).toMatchObject(failed(/^Task "instance" returned a value that holds an instance of Point at \.where/));
    expect(tries.deep).toMatchObject(failed(/^Task "deep" returned a value that is nested deeper than 1000 levels/));
    expect(tries.too_big).toMatchObject(failed(/^Task "too_big" returned a value that is (more than )?10 MB when serialized; the most an XCom value may be is 8 MB/));
    expect(tries.cycle_seen).toMatchObject({ state: 'success' });
    expect((await platform.taskInstances(runId)).find((ti) => ti.taskId === 'cycle_seen')!.returnValue).toBe(true);
    // Not retried: the same value would fail the same way.
    const counts = await platform.db.prisma.taskTry.count({ where: { taskInstance: { dagRunId: runId, taskId: 'fn' } } });
    expect(counts).toBe(1);
  });

  it('fails the downstream task with a clear error when a blob is missing or damaged', async () => {
    const runId = await platform.trigger('large');
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');
    const key = (await rowsOf(runId)).big!.blob_key!;
    const file = store.describe(key);

    await fs.writeFile(file, 'not the value');
    await clearTaskInstances(platform.pool, { dagRunId: runId, taskIds: ['check'] });
    expect(await platform.waitForRun(runId, 30_000)).toBe('failed');
    let tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'check' } }, orderBy: { tryNumber: 'desc' } });
    expect(tries[0]!.error).toMatchObject({ name: 'XComUnreadable', message: expect.stringMatching(/^Task "check" cannot start: the output of task "big" is damaged in the XCom object store \(.*\.devalue: 13 bytes, expected .* MB with SHA-256 [0-9a-f]{64}\)/) });

    await fs.rm(file);
    await clearTaskInstances(platform.pool, { dagRunId: runId, taskIds: ['check'] });
    expect(await platform.waitForRun(runId, 30_000)).toBe('failed');
    tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId, taskId: 'check' } }, orderBy: { tryNumber: 'desc' } });
    expect(tries[0]!.error).toMatchObject({ name: 'XComUnreadable', message: expect.stringMatching(/^Task "check" cannot start: the output of task "big" \(.* MB\) is missing from the XCom object store \(.*\.devalue\); run that task again/) });
  });

  it('deletes blobs with their rows: a cleared task, a deleted DAG, rows deleted by anything else', async () => {
    const exists = (key: string) => fs.stat(store.describe(key)).then(() => true, () => false);
    const bigKey = async () => {
      const runId = await platform.trigger('large');
      expect(await platform.waitForRun(runId, 60_000)).toBe('success');
      const key = (await rowsOf(runId)).big!.blob_key!;
      expect(await exists(key)).toBe(true);
      return { runId, key };
    };
    await sweepDeletedBlobs(platform.pool, store); // earlier tests' leftovers

    const cleared = await bigKey();
    await worker.stop(); // so that the cleared task does not run again at once
    await clearTaskInstances(platform.pool, { dagRunId: cleared.runId, taskIds: ['big'] });
    expect(await exists(cleared.key)).toBe(true); // until swept
    expect(await sweepDeletedBlobs(platform.pool, store)).toBe(1);
    expect(await exists(cleared.key)).toBe(false);
    worker = await platform.startWorker(4, { xcomStore: store, xcomMaxBytes: 8 * 1024 * 1024 });
    expect(await platform.waitForRun(cleared.runId, 60_000)).toBe('success'); // ran again: a new blob
    const again = (await rowsOf(cleared.runId)).big!.blob_key!;
    expect(again).not.toBe(cleared.key);

    const byRetention = await bigKey();
    await platform.pool.query('DELETE FROM dag_run WHERE id = $1', [byRetention.runId]); // cascades to its xcom rows
    expect(await sweepDeletedBlobs(platform.pool, store)).toBe(1);
    expect(await exists(byRetention.key)).toBe(false);

    // Deleting the DAG deletes every run's blobs (the run cleared above, and any other).
    const keys = (await platform.pool.query<{ blob_key: string }>("SELECT blob_key FROM xcom WHERE blob_key LIKE 'large/%'")).rows.map((r) => r.blob_key);
    expect(keys.length).toBeGreaterThan(0);
    await deleteDag(platform.db.prisma, 'large');
    expect(await sweepDeletedBlobs(platform.pool, store)).toBe(keys.length);
    for (const key of keys) expect(await exists(key)).toBe(false);
  });

  it('maps over lists that are not plain JSON or are in the object store, items keeping their types', async () => {
    const runId = await platform.trigger('map_rich');
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');
    const instances = await platform.taskInstances(runId);
    const valuesOf = (taskId: string) => instances.filter((ti) => ti.taskId === taskId).sort((a, b) => a.mapIndex - b.mapIndex).map((ti) => ti.returnValue);
    expect(valuesOf('each')).toEqual([0, 1000]); // over dates()
    expect(valuesOf('each__1')).toEqual([1, 1001]); // over later's Dates (chained mapping)
    expect(valuesOf('row')).toEqual(Array.from({ length: 40 }, () => true));
    expect((await rowsOf(runId)).rows).toMatchObject({ blob_key: expect.any(String), value: null });
    const data = await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: { mapIndex: number; mapItem: unknown } }> } } }>(
      platform,
      `query($id: ID!) { dagRun(id: $id) { taskInstances(taskId: "each") { edges { node { mapIndex mapItem } } } } }`,
      { id: String(runId) },
    );
    expect(data.dagRun.taskInstances.edges.map((e) => e.node.mapItem)).toContainEqual({ $date: '1970-01-01T00:00:01.000Z' });
  });

  it('refuses, clearly, to zip lists whose items are not plain JSON (not supported yet)', async () => {
    const runId = await platform.trigger('map_zip');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const tries = await triesOf(runId);
    expect(tries.zipped!.error).toMatchObject({ name: 'MappingFailed', message: expect.stringMatching(/^Task "zipped" cannot be mapped: the output of task "dates" holds items that are not plain JSON \(Date, Map…\); zip\(\) over such lists is not supported yet/) });
  });

  it('deletes a blob that no row recorded only after its grace period', async () => {
    const key = 'orphan/1/t/1-x.json';
    await store.put(key, '"orphan"');
    await platform.pool.query("INSERT INTO xcom_blob_tombstone (key, delete_after) VALUES ($1, now() + interval '1 hour')", [key]);
    expect(await sweepDeletedBlobs(platform.pool, store)).toBe(0);
    await platform.pool.query("UPDATE xcom_blob_tombstone SET delete_after = now() - interval '1 second' WHERE key = $1", [key]);
    expect(await sweepDeletedBlobs(platform.pool, store)).toBe(1);
    await expect(store.get(key)).rejects.toThrow(/no file/);
  });

  it('reads XCom rows written before this storage existed (plain jsonb) as they were', async () => {
    const runId = await platform.trigger('faithful');
    expect(await platform.waitForRun(runId)).toBe('success');
    const { rows } = await platform.pool.query<{ id: string }>("SELECT id::text FROM task_instance WHERE dag_run_id = $1 AND task_id = 'isolated'", [runId]);
    await platform.pool.query('DELETE FROM xcom WHERE task_instance_id = $1', [rows[0]!.id]);
    // The old statement's shape: value and size only.
    await platform.pool.query(`INSERT INTO xcom (task_instance_id, key, value, size_bytes) VALUES ($1, 'return_value', '{"legacy": [1, "two"]}', 22)`, [rows[0]!.id]);
    const data = await graphql<{ dagRun: { taskInstances: { edges: Array<{ node: { taskId: string; returnValue: unknown } }> } } }>(
      platform,
      `query($id: ID!) { dagRun(id: $id) { taskInstances(taskId: "isolated") { edges { node { taskId returnValue } } } } }`,
      { id: String(runId) },
    );
    expect(data.dagRun.taskInstances.edges[0]!.node.returnValue).toEqual({ legacy: [1, 'two'] });
  });
});
