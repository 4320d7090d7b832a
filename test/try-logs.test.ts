// A try's log lines are written while it runs, in batches (executor/try-log.ts): capped,
// in seq order, and never at the cost of the try's outcome when the database goes away.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/src/db/pool.js';
import { createTestPlatform, dagFolder, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

const DAGS = {
  'chatty.ts': `
import { context, dag, task } from '@updraft/sdk';
const chatty = task('chatty', () => { for (let i = 0; i < 12000; i++) context().log.info('line ' + i); });
export default dag({ id: 'chatty' }, () => { chatty(); });
`,
  'outage.ts': `
import fs from 'node:fs';
import { context, dag, task } from '@updraft/sdk';
const waitFor = async (file: unknown) => { while (!fs.existsSync(String(file))) await new Promise((r) => setTimeout(r, 20)); };
const outage = task('outage', async () => {
  context().log.info('before');
  await waitFor(context().conf.first);
  for (let i = 0; i < 600; i++) context().log.info('during ' + i, { nul: 'a\\u0000b' });
  await waitFor(context().conf.second);
  return 'recorded';
});
export default dag({ id: 'outage' }, () => { outage(); });
`,
};

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function cuttableProxy(target: URL) {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("a try's log lines", () => {
  let platform: TestPlatform;
  const gates = path.join(TEST_SCRATCH, 'gates', randomBytes(6).toString('hex'));
  beforeAll(async () => {
    await fs.mkdir(gates, { recursive: true });
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder(DAGS))).importErrors).toEqual([]);
  });
  afterAll(async () => {
    await platform?.close();
    await fs.rm(gates, { recursive: true, force: true });
  });

  const linesOf = async (runId: number) =>
    platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstance: { dagRunId: runId } } }, orderBy: { seq: 'asc' }, select: { seq: true, level: true, message: true, fields: true } });

  it('are written in batches while the try runs, capped at 10,000 with a marker, in seq order', async () => {
    const listener = new pg.Client({ connectionString: platform.db.url });
    await listener.connect();
    const batches: Array<{ from: number; to: number }> = [];
    listener.on('notification', (n) => batches.push(JSON.parse(n.payload!)));
    await listener.query('LISTEN updraft_log');
    const worker = await platform.startWorker(1);
    const runId = await platform.trigger('chatty');
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
    await listener.end();
    const logs = await linesOf(runId);
    expect(logs).toHaveLength(10_001);
    expect(logs.every((l, i) => l.seq === i)).toBe(true);
    expect(logs[9_999]!.message).toBe('line 9999');
    expect(logs[10_000]).toMatchObject({ level: 'warn', message: expect.stringMatching(/^\[log truncated: 2000 more line\(s\) \(~\S+ KB\) past the limit of 10000 lines \/ 5 MB per try\]$/), fields: { truncated: true, droppedLines: 2000 } });
    // Batches, not lines: each notification is one INSERT of a seq range, the ranges follow
    // one another, and what the finish stored comes after them.
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.length).toBeLessThanOrEqual(10_000 / 500);
    expect(batches.every((b, i) => b.to >= b.from && (i === 0 ? b.from === 0 : b.from === batches[i - 1]!.to + 1))).toBe(true);
  });

  it('survive the database going away while the try writes them and ends: none lost, none twice, the outcome recorded', async () => {
    const proxy = await cuttableProxy(new URL(platform.db.url));
    const pool = createPool(proxy.url, { onError: () => undefined });
    const gate = (name: string) => path.join(gates, name);
    const worker = await platform.startWorker(1, { pool, onWarning: () => undefined });
    try {
      const runId = await platform.trigger('outage', { first: gate('first'), second: gate('second') });
      // The first line is written while the try runs (within the flush interval).
      for (const deadline = Date.now() + 15_000; (await linesOf(runId)).length === 0; ) {
        if (Date.now() > deadline) throw new Error('the first line was never written');
        await new Promise((r) => setTimeout(r, 25));
      }
      proxy.cut();
      await fs.writeFile(gate('first'), ''); // 600 lines: a batch is due at once, and fails
      await new Promise((r) => setTimeout(r, 400));
      await fs.writeFile(gate('second'), ''); // the try ends: recording waits for the database
      await new Promise((r) => setTimeout(r, 800));
      expect(await linesOf(runId)).toHaveLength(1);
      proxy.restore();
      expect(await platform.waitForRun(runId, 30_000)).toBe('success');
      const lines = await linesOf(runId);
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 601 }, (_, i) => i));
      expect(lines[0]!.message).toBe('before');
      expect(lines[600]).toMatchObject({ message: 'during 599', fields: { nul: 'a\uFFFDb' } });
      const [ti] = await platform.taskInstances(runId);
      expect(ti).toMatchObject({ state: 'success', tryNumber: 1, returnValue: 'recorded' });
    } finally {
      await worker.stop();
      await pool.end();
      await proxy.close();
    }
  });
});
