import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { branch, dag, defineConnectionType, defineOperator, defineSensor, latestOnly, sensor, shortCircuit, task, zip, type BranchChoice, type TaskConnection, type XComArg } from '../index.js';

describe('TaskFlow types', () => {
  it('gives a task’s output the type of what arrives: its return value, kept by XCom', () => {
    const text = task('text', () => 'hi');
    const later = task('later', async () => 42);
    const when = task('when', () => new Date());
    const record = task('record', () => ({ at: new Date(), n: 1, skip: undefined as string | undefined }));
    const rich = task('rich', () => ({
      index: new Map<string, Date>(),
      tags: new Set<bigint>(),
      big: 1n,
      missing: undefined,
      bytes: new Uint8Array(2),
      floats: new Float64Array(1),
      buffer: Buffer.from('x'),
      pattern: /a/,
      nested: [{ deep: [new Date()] }] as const,
    }));
    const nothing = task('nothing', () => {});
    dag({ id: 'types' }, () => {
      expectTypeOf(text()).toEqualTypeOf<XComArg<string>>();
      expectTypeOf(later()).toEqualTypeOf<XComArg<number>>();
      expectTypeOf(when()).toEqualTypeOf<XComArg<Date>>();
      expectTypeOf(record()).toEqualTypeOf<XComArg<{ at: Date; n: number; skip: string | undefined }>>();
      expectTypeOf(rich()).toEqualTypeOf<
        XComArg<{
          index: Map<string, Date>;
          tags: Set<bigint>;
          big: bigint;
          missing: undefined;
          bytes: Uint8Array;
          floats: Float64Array<ArrayBuffer>;
          buffer: Uint8Array; // a Buffer arrives as a Uint8Array
          pattern: RegExp;
          nested: readonly [{ readonly deep: readonly [Date] }];
        }>
      >();
      expectTypeOf(nothing()).toEqualTypeOf<XComArg<void>>();
    });
  });

  it('gives nothing (never) for a value that cannot be stored: the task fails, nothing arrives', () => {
    class Counter {
      n = 1;
      increment() {
        this.n++;
      }
    }
    const withFunction = task('with_function', () => ({ ok: 1, callback: () => 2 }));
    const withSymbol = task('with_symbol', () => [Symbol('s')]);
    const withInstance = task('with_instance', () => ({ counter: new Counter() }));
    const inMap = task('in_map', () => new Map([['f', () => 1]]));
    dag({ id: 'unstorable' }, () => {
      expectTypeOf(withFunction()).toEqualTypeOf<XComArg<never>>();
      expectTypeOf(withSymbol()).toEqualTypeOf<XComArg<never>>();
      expectTypeOf(withInstance()).toEqualTypeOf<XComArg<never>>();
      expectTypeOf(inMap()).toEqualTypeOf<XComArg<never>>();
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
      needsDate(when()); // a Date arrives as a Date
      // @ts-expect-error a Date is not a string
      shout(when());
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

  it('types mapped tasks: items of the first parameter’s type, the rest as constants, a list of serialized outputs', () => {
    const numbers = task('numbers', () => [1, 2, 3]);
    const words = task('words', () => ['a', 'b']);
    const scale = task('scale', (n: number, factor: number) => ({ n: n * factor, at: new Date() }));
    const label = task('label', ([n, word]: [number, string]) => `${word}${n}`);
    const total = task('total', (values: Array<{ n: number; at: Date }>) => values.length);
    const count = task('count', (n: number) => n);
    const none = task('none', () => 1);
    dag({ id: 'mapping' }, () => {
      const scaled = scale.map(numbers(), 2);
      expectTypeOf(scaled).toEqualTypeOf<XComArg<Array<{ n: number; at: Date }>>>();
      total(scaled);
      scale.map([1, 2], 3);
      count.map(count.map(numbers()));
      expectTypeOf(label.map(zip(numbers(), words()))).toEqualTypeOf<XComArg<string[]>>();
      label.map(zip([1, 2], ['x', 'y']));
      // @ts-expect-error the first parameter is a number, the items are strings
      count.map(words());
      // @ts-expect-error a literal list of the wrong element type
      count.map(['1', '2']);
      // @ts-expect-error the constant arguments keep their types
      scale.map(numbers(), 'twice');
      // @ts-expect-error the constant arguments are still required
      scale.map(numbers());
      // @ts-expect-error a mapped output is a list, not a scalar
      count(count.map(numbers()));
      // @ts-expect-error a list of the wrong element type
      total(count.map(numbers()));
      // @ts-expect-error zipped tuples must match the first parameter
      label.map(zip(words(), numbers()));
      // @ts-expect-error a single value is not a list to map over
      count.map(count(1));
      // @ts-expect-error a task without parameters cannot be mapped
      none.map([1, 2]);
    });
  });
});

describe('variables and connections', () => {
  it('types a variable as a string, or its default, and a connection with its fields', async () => {
    const { connection, variable } = await import('../index.js');
    expectTypeOf(variable('region')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(variable('region', { default: null })).toEqualTypeOf<Promise<string | null>>();
    expectTypeOf(variable('region', { default: 'eu' })).toEqualTypeOf<Promise<string>>();
    expectTypeOf(connection('db')).resolves.toHaveProperty('password').toEqualTypeOf<string | null>();
    expectTypeOf(connection('db')).resolves.toHaveProperty('extra').toEqualTypeOf<Record<string, unknown>>();
    // @ts-expect-error a key is a string
    void variable(42);
  });
});

describe('operators from plugins', () => {
  const greet = defineOperator({
    name: 'greet',
    params: z.object({ name: z.string(), times: z.number().int().default(1), loud: z.boolean().optional() }),
    run: (params, ctx) => {
      expectTypeOf(params).toEqualTypeOf<{ name: string; times: number; loud?: boolean | undefined }>();
      expectTypeOf(ctx.taskId).toEqualTypeOf<string>();
      return { greeting: `hello ${params.name}`.repeat(params.times), at: new Date() };
    },
  });
  const waitFor = defineSensor({
    name: 'wait_for',
    params: z.object({ path: z.string() }),
    poke: async ({ path }) => (path.length > 3 ? path : false),
  });
  const names = task('names', () => ['a', 'b']);
  const person = task('person', () => ({ name: 'ada' }));
  const count = task('count', () => 3);

  it('types params as the schema’s input and the output as the run’s result as XCom delivers it', () => {
    dag({ id: 'plugin_types' }, () => {
      const one = greet('greet')({ name: 'ada' });
      expectTypeOf(one).toEqualTypeOf<XComArg<{ greeting: string; at: Date }>>();
      expectTypeOf(greet({ id: 'greet_twice', retries: 2 })(person())).toEqualTypeOf<XComArg<{ greeting: string; at: Date }>>();
      expectTypeOf(greet('many').map([{ name: 'a' }, { name: 'b', times: 2 }])).toEqualTypeOf<XComArg<Array<{ greeting: string; at: Date }>>>();
      expectTypeOf(waitFor({ id: 'wait', mode: 'reschedule', interval: '1m' })({ path: '/data' })).toEqualTypeOf<XComArg<string>>();
    });
  });

  it('does not compile with wrong params', () => {
    dag({ id: 'plugin_wrong' }, () => {
      // @ts-expect-error name is missing
      greet('no_name')({ times: 2 });
      // @ts-expect-error name must be a string
      greet('wrong_type')({ name: 42 });
      // @ts-expect-error an upstream's output of the wrong type
      greet('wrong_upstream')(count());
      // @ts-expect-error mapping over a list of the wrong items
      greet('wrong_map').map(names());
      // @ts-expect-error a sensor option that does not exist
      waitFor({ id: 'w', mode: 'sometimes' });
      // @ts-expect-error the sensor's params
      waitFor('w2')({ file: '/data' });
    });
  });

  it('types connection types', () => {
    const pg = defineConnectionType({ type: 'postgres', fields: { host: { label: 'Host', required: true } } });
    expectTypeOf(pg.get('warehouse')).toEqualTypeOf<Promise<TaskConnection>>();
    // @ts-expect-error the password is always secret: no `secret` option
    defineConnectionType({ type: 'x', fields: { password: { label: 'Password', secret: false } } });
  });
});
