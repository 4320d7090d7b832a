import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updraft } from './support/cli.js';
import { createTestPlatform, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

describe('updraft pools, and worker --queues', () => {
  let platform: TestPlatform;
  let env: Record<string, string>;
  beforeAll(async () => {
    platform = await createTestPlatform();
    env = { DATABASE_URL: platform.db.url, UPDRAFT_HOME: path.join(TEST_SCRATCH, 'cli-pools-home') };
  });
  afterAll(() => platform.close());

  it('sets, lists and deletes pools; default_pool is unlimited until set', { timeout: 180_000 }, async () => {
    const set = await updraft(['pools', 'set', 'gpu', '2', '--description', 'the two GPUs'], env);
    expect(set.stdout).toBe('Pool gpu: 2 slots (0 occupied, 0 waiting)\n');
    expect((await updraft(['pools', 'set', 'default_pool', '128'], env)).code).toBe(0);
    const list = await updraft(['pools', 'list'], env);
    expect(list.stdout).toMatch(/^default_pool\s+128\s+0\s+128\s+0\s+Every task not given a pool/m);
    expect(list.stdout).toMatch(/^gpu\s+2\s+0\s+2\s+0\s+the two GPUs$/m);
    expect((await updraft(['pools', 'set', 'default_pool', 'unlimited'], env)).stdout).toBe('Pool default_pool: unlimited (0 occupied, 0 waiting)\n');
    expect((await updraft(['pools', 'delete', 'gpu'], env)).stdout).toBe('Deleted pool gpu\n');
    expect(await platform.db.prisma.pool.findMany({ select: { name: true, slots: true } })).toEqual([{ name: 'default_pool', slots: null }]);
  });

  it('explains bad input', { timeout: 180_000 }, async () => {
    const slots = await updraft(['pools', 'set', 'gpu', 'many'], env);
    expect(slots.code).not.toBe(0);
    expect(slots.stderr).toContain('must be a whole number of slots (0 or more) or "unlimited"');
    const name = await updraft(['pools', 'set', 'no/slash', '1'], env);
    expect(name.code).not.toBe(0);
    expect(name.stderr).toContain('"no/slash" is not a pool name');
    const gone = await updraft(['pools', 'delete', 'default_pool'], env);
    expect(gone.stderr).toContain('default_pool cannot be deleted');
    const queue = await updraft(['worker', '--queues', 'default,bad queue'], env);
    expect(queue.code).not.toBe(0);
    expect(queue.stderr).toContain('queue "bad queue" is not a queue name');
  });
});
