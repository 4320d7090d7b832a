import { describe, expect, it } from 'vitest';
import { allOf, anyOf, asset, dag, task } from '../index.js';

describe('assets', () => {
  it('emits outlets and asset schedules: a list is all of, anyOf/allOf nest', () => {
    const sales = asset('s3://bucket/sales');
    const stock = asset('s3://bucket/stock');
    const load = task({ id: 'load', outlets: [sales, stock], retries: 1 }, () => 1);
    const producer = dag({ id: 'producer' }, () => void load());
    expect(producer.toStructure().tasks[0]).toEqual({ id: 'load', upstreamIds: [], args: [], policy: { retries: 1 }, outlets: ['s3://bucket/sales', 's3://bucket/stock'] });
    const all = dag({ id: 'all', schedule: [sales, stock] }, () => {}).toStructure();
    expect([all.schedule, all.assetSchedule]).toEqual([null, { all: [{ asset: 's3://bucket/sales' }, { asset: 's3://bucket/stock' }] }]);
    expect(dag({ id: 'one', schedule: sales }, () => {}).toStructure().assetSchedule).toEqual({ asset: 's3://bucket/sales' });
    expect(dag({ id: 'nested', schedule: anyOf(asset('s3://p'), allOf(sales, stock)) }, () => {}).toStructure().assetSchedule).toEqual({
      any: [{ asset: 's3://p' }, { all: [{ asset: 's3://bucket/sales' }, { asset: 's3://bucket/stock' }] }],
    });
    expect(dag({ id: 'cron', schedule: '@daily' }, () => {}).toStructure()).toMatchObject({ schedule: '@daily' });
    expect('assetSchedule' in dag({ id: 'cron', schedule: '@daily' }, () => {}).toStructure()).toBe(false);
  });

  it('says what is wrong with an asset or a condition', () => {
    expect(() => asset('')).toThrow('asset(): an asset URI must not be empty');
    expect(() => asset('s3://a b')).toThrow('must be printable ASCII without spaces');
    expect(() => asset('x'.repeat(1501))).toThrow('at most 1500 characters');
    expect(() => anyOf()).toThrow('anyOf() needs at least one asset or condition.');
    expect(() => allOf('s3://x' as never)).toThrow('allOf(): argument 1 is not an asset or a condition');
    let deep = anyOf(asset('s3://x'));
    for (let i = 0; i < 10; i++) deep = anyOf(deep);
    expect(() => dag({ id: 'deep', schedule: deep }, () => {}).toStructure()).toThrow('nests anyOf/allOf more than 8 levels deep');
    const bad = task({ id: 'bad', outlets: ['s3://x'] as never }, () => 1);
    expect(() => dag({ id: 'bad_outlets' }, () => void bad()).toStructure()).toThrow('task("bad"): outlets[0] is not an asset');
  });
});
