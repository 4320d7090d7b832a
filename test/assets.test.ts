// Assets: a task's outlets record asset events when it succeeds; DAGs scheduled on assets
// get an asset-triggered run once their condition holds since their last one, and not before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionHolds, describeCondition } from '../server/src/assets/condition.js';
import { postAssetEvent } from '../server/src/assets/events.js';
import { createAssetTriggeredRuns } from '../server/src/assets/triggers.js';
import { createApi } from '../server/src/api/server.js';
import { LiveUpdates } from '../server/src/live/live-updates.js';
import { createApiToken } from '../server/src/tokens.js';
import { startScheduler, type Scheduler } from '../server/src/scheduler.js';
import { dagFolder, graphql, platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'producers.ts': `
import { asset, dag, task } from '@updraft/sdk';
const sales = asset('s3://bucket/sales');
const stock = asset('s3://bucket/stock');
export const produceSales = dag({ id: 'produce_sales' }, () => {
  task({ id: 'load', outlets: [sales], isolation: 'none' }, async () => { await new Promise((r) => setTimeout(r, 1500)); return 'loaded'; })();
});
export const produceStock = dag({ id: 'produce_stock' }, () => {
  task({ id: 'load', outlets: [stock], isolation: 'none' }, () => 'loaded')();
});
export const mapped = dag({ id: 'produce_mapped' }, () => {
  task({ id: 'part', outlets: [asset('s3://bucket/parts')], isolation: 'none' }, (n: number) => n).map([1, 2, 3]);
});
export const failing = dag({ id: 'produce_nothing' }, () => {
  task({ id: 'load', outlets: [sales, stock], isolation: 'none' }, () => { throw new Error('no data today'); })();
});
`,
  'consumers.ts': `
import { allOf, anyOf, asset, dag, task } from '@updraft/sdk';
const sales = asset('s3://bucket/sales');
const stock = asset('s3://bucket/stock');
export const both = dag({ id: 'needs_both', schedule: [sales, stock] }, () => { task({ id: 'report', isolation: 'none' }, () => 'both')(); });
export const either = dag({ id: 'needs_either', schedule: anyOf(sales, stock) }, () => { task({ id: 'report', isolation: 'none' }, () => 'either')(); });
export const nested = dag({ id: 'nested', schedule: anyOf(asset('s3://bucket/prices'), allOf(sales, stock)) }, () => { task({ id: 'report', isolation: 'none' }, () => 1)(); });
`,
};

const until = async <T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('asset conditions', () => {
  it('hold as Airflow’s do: a list needs all, anyOf one, nested as written', () => {
    const c = { any: [{ asset: 'p' }, { all: [{ asset: 's' }, { asset: 't' }] }] };
    expect(conditionHolds(c, new Set(['s']))).toBe(false);
    expect(conditionHolds(c, new Set(['s', 't']))).toBe(true);
    expect(conditionHolds(c, new Set(['p']))).toBe(true);
    expect(describeCondition(c)).toBe('(p | (s & t))');
  });
});

describe('asset-triggered runs', () => {
  let platform: TestPlatform;
  let live: LiveUpdates;
  let scheduler: Scheduler;
  const runsOf = (dagId: string) => platform.db.prisma.dagRun.findMany({ where: { dagId }, orderBy: { id: 'asc' }, include: { consumedAssetEvents: { include: { assetEvent: { include: { asset: true } } } } } });

  beforeAll(async () => {
    platform = await platformRunning(DAGS, 4);
    live = new LiveUpdates({ databaseUrl: platform.db.url, onWarning: () => undefined });
    scheduler = startScheduler({ pool: platform.pool, live });
  });
  afterAll(async () => {
    await scheduler.stop();
    await live.close();
    await platform.close();
  });

  it('runs a DAG after its producer task succeeds, and not before; all-of waits for every asset', async () => {
    const producer = await platform.trigger('produce_sales');
    // The producer's task runs for 1.5 s: nothing may be triggered meanwhile.
    await until('the producer task to start', async () => (await platform.db.prisma.taskInstance.findFirst({ where: { dagRunId: producer, state: 'running' } })) !== null);
    await new Promise((r) => setTimeout(r, 500));
    expect(await runsOf('needs_either')).toEqual([]);
    expect(await platform.waitForRun(producer)).toBe('success');

    const [either] = await until('needs_either to run', async () => {
      const runs = await runsOf('needs_either');
      return runs.length > 0 && runs;
    });
    expect(either!.runType).toBe('asset_triggered');
    expect(either!.runId).toMatch(/^asset_triggered__/);
    expect(either!.consumedAssetEvents.map((c) => [c.assetEvent.asset.uri, c.assetEvent.sourceDagId, c.assetEvent.sourceTaskId, c.assetEvent.sourceDagRunId])).toEqual([
      ['s3://bucket/sales', 'produce_sales', 'load', producer],
    ]);
    expect(await platform.waitForRun(either!.id)).toBe('success');
    // The event was seen by every consumer (its queue row exists), yet `all` is not satisfied.
    await new Promise((r) => setTimeout(r, 300));
    expect(await runsOf('needs_both')).toEqual([]);
    expect(await runsOf('nested')).toEqual([]);
    expect(await platform.db.prisma.assetDagRunQueue.count({ where: { dagId: 'needs_both' } })).toBe(1);

    const stock = await platform.trigger('produce_stock');
    expect(await platform.waitForRun(stock)).toBe('success');
    const [both] = await until('needs_both to run', async () => {
      const runs = await runsOf('needs_both');
      return runs.length > 0 && runs;
    });
    expect(both!.consumedAssetEvents.map((c) => c.assetEvent.asset.uri).sort()).toEqual(['s3://bucket/sales', 's3://bucket/stock']);
    await until('nested to run', async () => (await runsOf('nested')).length === 1);
    await until('needs_either to run again', async () => (await runsOf('needs_either')).length === 2);
    // Consumed: nothing stays queued, and no further run comes.
    await new Promise((r) => setTimeout(r, 300));
    expect(await platform.db.prisma.assetDagRunQueue.count()).toBe(0);
    expect((await runsOf('needs_both')).length).toBe(1);
    expect((await runsOf('needs_either')).length).toBe(2);
  });

  it('records one event per successful mapped instance, with its map index', async () => {
    const run = await platform.trigger('produce_mapped');
    expect(await platform.waitForRun(run)).toBe('success');
    const events = await platform.db.prisma.assetEvent.findMany({ where: { sourceDagRunId: run }, include: { asset: true }, orderBy: { sourceMapIndex: 'asc' } });
    expect(events.map((e) => [e.asset.uri, e.sourceTaskId, e.sourceMapIndex])).toEqual([0, 1, 2].map((i) => ['s3://bucket/parts', 'part', i]));
  });

  it('records no event for a failed try', async () => {
    const before = await platform.db.prisma.assetEvent.count();
    const run = await platform.trigger('produce_nothing');
    expect(await platform.waitForRun(run)).toBe('failed');
    expect(await platform.db.prisma.assetEvent.count()).toBe(before);
  });

  it('creates one run per condition met, whatever the number of schedulers racing', async () => {
    const more = [startScheduler({ pool: platform.pool, live }), startScheduler({ pool: platform.pool, live })];
    try {
      const before = (await runsOf('needs_either')).length;
      await postAssetEvent(platform.pool, { uri: 's3://bucket/stock', extra: { rows: 12 } }, 'local');
      await until('needs_either to run', async () => (await runsOf('needs_either')).length === before + 1);
      await new Promise((r) => setTimeout(r, 500));
      const runs = await runsOf('needs_either');
      expect(runs.length).toBe(before + 1);
      expect(runs.at(-1)!.consumedAssetEvents.map((c) => [c.assetEvent.extra, c.assetEvent.createdBy])).toEqual([[{ rows: 12 }, 'local']]);
      // Eight passes at once on the same queued event (besides the three schedulers): one run.
      await postAssetEvent(platform.pool, { uri: 's3://bucket/stock' }, 'local');
      await Promise.all(Array.from({ length: 8 }, () => createAssetTriggeredRuns(platform.pool)));
      await until('needs_either to run', async () => (await runsOf('needs_either')).length === before + 2);
      await new Promise((r) => setTimeout(r, 300));
      expect((await runsOf('needs_either')).length).toBe(before + 2);
    } finally {
      await Promise.all(more.map((s) => s.stop()));
    }
  });

  it('keeps events queued while the consumer is paused, and runs it once unpaused', async () => {
    await platform.db.prisma.dag.update({ where: { id: 'needs_either' }, data: { paused: true } });
    const before = (await runsOf('needs_either')).length;
    await postAssetEvent(platform.pool, { uri: 's3://bucket/sales' }, 'local');
    await new Promise((r) => setTimeout(r, 500));
    expect((await runsOf('needs_either')).length).toBe(before);
    await platform.db.prisma.dag.update({ where: { id: 'needs_either' }, data: { paused: false } });
    await until('needs_either to run once unpaused', async () => (await runsOf('needs_either')).length === before + 1);
  });

  it('refuses bad asset URIs and schedules at deploy, naming the DAG and task', async () => {
    const dir = await dagFolder({
      'bad.ts': `
import { dag, task } from '@updraft/sdk';
export default dag({ id: 'bad_assets', schedule: { any: [] } as never }, () => {
  task({ id: 't', outlets: [{ uri: 'x' }] as never }, () => 1)();
});
`,
    });
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors).toHaveLength(1);
    expect(importErrors[0]!.message).toContain('task("t"): outlets[0] is not an asset');
    const nul = await dagFolder({ 'nul.ts': `import { asset, dag } from '@updraft/sdk';\nexport default dag({ id: 'nul', schedule: [asset('s3://a b')] }, () => {});` });
    expect((await platform.deploy(nul)).importErrors[0]!.message).toContain('must be printable ASCII without spaces');
  });

  it('refuses posts for unknown assets and bad extras', async () => {
    await expect(postAssetEvent(platform.pool, { uri: 's3://nobody/knows' }, 'local')).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    await expect(postAssetEvent(platform.pool, { uri: 's3://bucket/sales', extra: [1] }, 'local')).rejects.toThrow('extra must be a JSON object, got an array');
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    await expect(postAssetEvent(platform.pool, { uri: 's3://bucket/sales', extra: deep }, 'local')).rejects.toThrow('extra is nested more than 64 levels deep');
  });

  it('shows assets, their events and the runs they caused in GraphQL', async () => {
    const data = await graphql<{ asset: { uri: string; consumingDags: Array<{ id: string }>; events: { edges: Array<{ node: { sourceTaskId: string | null; triggeredRuns: Array<{ dagId: string; runType: string }> } }> } } }>(
      platform,
      `{ asset(uri: "s3://bucket/stock") { uri consumingDags { id } events(first: 10) { edges { node { sourceTaskId triggeredRuns { dagId runType } } } } } }`,
    );
    expect(data.asset.uri).toBe('s3://bucket/stock');
    expect(data.asset.consumingDags.map((d) => d.id).sort()).toEqual(['needs_both', 'needs_either', 'nested']);
    const oldest = data.asset.events.edges.at(-1)!.node;
    expect(oldest.sourceTaskId).toBe('load');
    expect(oldest.triggeredRuns.map((r) => r.dagId).sort()).toEqual(['needs_both', 'needs_either', 'nested']);
    expect(oldest.triggeredRuns.every((r) => r.runType === 'asset_triggered')).toBe(true);

    const posted = await graphql<{ createAssetEvent: { assetEvent: { asset: { uri: string }; extra: unknown; createdBy: string } } }>(
      platform,
      `mutation { createAssetEvent(input: { uri: "s3://bucket/prices", extra: { source: "test" } }) { assetEvent { asset { uri } extra createdBy } } }`,
    );
    expect(posted.createAssetEvent.assetEvent).toEqual({ asset: { uri: 's3://bucket/prices' }, extra: { source: 'test' }, createdBy: 'local' });
    const nested = await graphql<{ dag: { assetSchedule: string | null } }>(platform, `{ dag(id: "nested") { assetSchedule } }`);
    expect(nested.dag.assetSchedule).toBe('(s3://bucket/prices | (s3://bucket/sales & s3://bucket/stock))');

    // A token limited to needs_both sees its runs, but neither assets nor the events behind them.
    const { token } = await createApiToken(platform.db.prisma, { role: 'op', name: 'both-only', dagIds: ['needs_both'] }, 'test');
    const api = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { auth: { open: false } });
    const ask = async (query: string) => {
      const response = await api.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      return (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
    };
    const runs = await ask(`{ dagRuns(dagId: "needs_both", first: 5) { edges { node { runType } } } }`);
    const types = runs.data.dagRuns.edges.map((e: any) => e.node.runType);
    expect(types.length > 0 && types.every((t: string) => t === 'asset_triggered')).toBe(true);
    expect((await ask(`{ dagRuns(dagId: "needs_both", first: 5) { edges { node { consumedAssetEvents(first: 5) { edges { node { id } } } } } } }`)).errors?.[0]?.message).toMatch(/needs a token that is not limited to some DAGs/);
    expect((await ask(`{ assets(first: 5) { edges { node { uri } } } }`)).errors?.[0]?.message).toMatch(/needs a token that is not limited to some DAGs/);
    expect((await ask(`mutation { createAssetEvent(input: { uri: "s3://bucket/sales" }) { assetEvent { id } } }`)).errors?.[0]?.message).toMatch(/needs a token that is not limited to some DAGs/);
  });
});
