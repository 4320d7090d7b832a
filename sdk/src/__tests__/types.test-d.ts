import { describe, expectTypeOf, it } from 'vitest';
import { branch, dag, latestOnly, sensor, shortCircuit, task, type BranchChoice, type XComArg } from '../index.js';

describe('TaskFlow types', () => {
  it('gives a task’s output the type its return value has after JSON serialization', () => {
    const text = task('text', () => 'hi');
    const later = task('later', async () => 42);
    const when = task('when', () => new Date());
    const record = task('record', () => ({ at: new Date(), n: 1, skip: undefined as string | undefined, fn: () => 1 }));
    dag({ id: 'types' }, () => {
      expectTypeOf(text()).toEqualTypeOf<XComArg<string>>();
      expectTypeOf(later()).toEqualTypeOf<XComArg<number>>();
      expectTypeOf(when()).toEqualTypeOf<XComArg<string>>();
      expectTypeOf(record()).toEqualTypeOf<XComArg<{ at: string; n: number; skip?: string }>>();
    });
  });

  it('accepts an output of the right type, or a literal, as an argument', () => {
    const text = task('text', () => 'hi');
    const shout = task('shout', (s: string, times: number) => s.repeat(times));
    dag({ id: 'ok' }, () => {
      shout(text(), 2);
      shout('literal', 3);
    });
  });

  it('does not compile when an output of the wrong type is wired into a task', () => {
    const count = task('count', () => 3);
    const when = task('when', () => new Date());
    const shout = task('shout', (s: string) => s.toUpperCase());
    const needsDate = task('needs_date', (d: Date) => d.getTime());
    dag({ id: 'wrong' }, () => {
      // @ts-expect-error a number is not a string
      shout(count());
      // @ts-expect-error a Date travels as a string, so a task cannot receive it as a Date
      needsDate(when());
      // @ts-expect-error too few arguments
      shout();
      // @ts-expect-error a Date literal would arrive as a string too
      needsDate(new Date());
    });
  });

  it('types branches, short-circuits and latest-only nodes', () => {
    const pick = branch('pick', (n: number) => (n > 1 ? 'big' : ['a', 'b']));
    const maybe = shortCircuit({ id: 'maybe', respectTriggerRules: true }, () => ({ rows: 3 }));
    const count = task('count', (x: { rows: number }) => x.rows);
    dag({ id: 'flow' }, () => {
      expectTypeOf(pick(2)).toEqualTypeOf<XComArg<BranchChoice>>();
      count(maybe());
      latestOnly().after(pick(1));
      // @ts-expect-error a branch returns task ids
      branch('bad', () => 42);
      // @ts-expect-error respectTriggerRules is for short-circuit tasks
      task({ id: 'plain', respectTriggerRules: true }, () => 1);
    });
  });

  it('gives a sensor the type of what it finds, without the falsy values that mean "not yet"', () => {
    const fileReady = sensor({ id: 'file_ready' }, (): string | false => 'path');
    const rows = sensor({ id: 'rows' }, async (): Promise<number[] | null> => [1]);
    const read = task('read', (path: string) => path.length);
    dag({ id: 'sensing' }, () => {
      expectTypeOf(fileReady()).toEqualTypeOf<XComArg<string>>();
      expectTypeOf(rows()).toEqualTypeOf<XComArg<number[]>>();
      read(fileReady());
    });
  });
});
