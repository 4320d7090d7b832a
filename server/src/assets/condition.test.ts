import { dag } from '@updraft/sdk';
import { describe, expect, it } from 'vitest';
import { DagValidationError, validateStructure } from '../dags/structure.js';

/** The problems validateStructure finds in a structure whose asset schedule is `condition` (bypassing the SDK). */
function problems(condition: unknown): string[] {
  const raw = { ...dag({ id: 'consumer' }, () => {}).toStructure(), assetSchedule: condition };
  try {
    validateStructure(raw, 'file.ts');
    return [];
  } catch (e) {
    if (e instanceof DagValidationError) return e.problems;
    throw e;
  }
}

describe('asset schedules at deploy', () => {
  it('accepts nested conditions and keeps them', () => {
    const condition = { any: [{ asset: 's3://a' }, { all: [{ asset: 's3://b' }, { asset: 's3://c' }] }] };
    expect(validateStructure({ ...dag({ id: 'ok' }, () => {}).toStructure(), assetSchedule: condition }, 'f.ts').assetSchedule).toEqual(condition);
  });

  it('refuses hostile conditions at a bounded cost: 100,000 levels deep, 1,000,000 assets wide', () => {
    let deep: unknown = { asset: 's3://x' };
    for (let i = 0; i < 100_000; i++) deep = { any: [deep] };
    const started = Date.now();
    expect(problems(deep)).toEqual(['DAG "consumer": assetSchedule: nests anyOf/allOf more than 8 levels deep']);
    const wide = { all: Array.from({ length: 1_000_000 }, (_, i) => ({ asset: `s3://x/${i}` })) };
    expect(problems(wide)).toEqual(['DAG "consumer": assetSchedule: names more than 100 assets']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('names what is wrong with a malformed condition', () => {
    expect(problems({ any: [] })[0]).toContain('anyOf needs at least one asset');
    expect(problems({ asset: 'has space' })[0]).toContain('must be printable ASCII without spaces');
    expect(problems('s3://x')).toHaveLength(1);
  });
});
