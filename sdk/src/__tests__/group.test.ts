import { describe, expect, it } from 'vitest';
import { dag, group, task } from '../index.js';

describe('group()', () => {
  const extract = task('extract', () => [1, 2]);
  const clean = task({ id: 'clean', retries: 1 }, (rows: number[]) => rows);
  const load = task('load', (rows: number[]) => rows.length);
  const notify = task('notify', () => undefined);

  it('prefixes task ids, nests, applies its defaultArgs under the tasks own, and wires as a whole', () => {
    const declared = dag({ id: 'grouped' }, () => {
      const raw = extract();
      const etl = group({ id: 'etl', defaultArgs: { retries: 3, timeout: '1m' } }, () => {
        const cleaned = group('inner', () => clean(raw));
        return load(cleaned.output);
      });
      notify().after(etl);
      group('checks', () => [notify(), notify()]).after(etl);
    });
    const tasks = Object.fromEntries(declared.toStructure().tasks.map((t) => [t.id, { up: t.upstreamIds, policy: t.policy, group: t.groupId ?? null }]));
    expect(tasks).toEqual({
      extract: { up: [], policy: {}, group: null },
      'etl.inner.clean': { up: ['extract'], policy: { retries: 1, timeout: '1m' }, group: 'etl.inner' },
      'etl.load': { up: ['etl.inner.clean'], policy: { retries: 3, timeout: '1m' }, group: 'etl' },
      notify: { up: ['etl.load'], policy: {}, group: null },
      'checks.notify': { up: ['etl.load'], policy: {}, group: 'checks' },
      'checks.notify__1': { up: ['etl.load'], policy: {}, group: 'checks' },
    });
  });

  it('refuses a group outside a DAG builder, and one id twice', () => {
    expect(() => group('g', () => undefined)).toThrow('group("g") was called outside a dag() builder');
    expect(() => dag({ id: 'twice' }, () => { group('g', () => undefined); group('g', () => undefined); })).toThrow('group("g") is declared twice in dag("twice")');
  });
});
