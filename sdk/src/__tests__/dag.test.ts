import { describe, expect, it } from 'vitest';
import { chain, context, dag, task, zip } from '../index.js';

describe('dag() and task()', () => {
  it('records nodes, edges, literal arguments and policies in the structure it emits', () => {
    const extract = task({ id: 'extract', retries: 2, retryDelay: '10s' }, (source: string) => [source]);
    const load = task('load', (rows: string[], table: string) => `${rows.length} rows into ${table}`);
    const audit = task('audit', () => undefined);
    const declared = dag({ id: 'etl', schedule: '@daily', defaultArgs: { timeout: '1h' }, tags: ['t'] }, () => {
      const a = extract('s3://bucket');
      const b = extract('s3://other');
      chain(load(a, 'sales'), audit().after(b));
    });
    expect(declared.taskIds).toEqual(['extract', 'extract__1', 'load', 'audit']);
    expect(declared.toStructure()).toEqual({
      format: 1,
      id: 'etl',
      description: null,
      schedule: '@daily',
      tags: ['t'],
      defaultArgs: { timeout: '1h' },
      failRunOnAnyFailure: false,
      params: null,
      tasks: [
        { id: 'extract', upstreamIds: [], args: [{ value: 's3://bucket' }], policy: { retries: 2, retryDelay: '10s' } },
        { id: 'extract__1', upstreamIds: [], args: [{ value: 's3://other' }], policy: { retries: 2, retryDelay: '10s' } },
        { id: 'load', upstreamIds: ['extract'], args: [{ xcom: { taskId: 'extract', key: 'return_value' } }, { value: 'sales' }], policy: {} },
        { id: 'audit', upstreamIds: ['extract__1', 'load'], args: [], policy: {} },
      ],
    });
  });

  it('says what is wrong when used outside a builder or a running task', () => {
    const orphan = task('orphan', () => 1);
    expect(() => orphan()).toThrow('Task "orphan" was called outside a dag() builder: call tasks inside dag({ id }, () => { ... }).');
    expect(() => dag({ id: 'outer' }, () => void dag({ id: 'inner' }, () => {}))).toThrow(
      'dag("inner") was declared inside the builder of dag("outer"): declare DAGs at the top level of a file.',
    );
    expect(() => context()).toThrow('context() was called outside a running task: call it inside a task function.');
  });

  it('records what a mapped node maps over; its constants are its arguments', () => {
    const numbers = task('numbers', () => [1, 2]);
    const scale = task('scale', (n: number, factor: number) => n * factor);
    const pair = task('pair', ([a, b]: [number, string]) => a + b);
    const declared = dag({ id: 'mapped' }, () => {
      scale.map(numbers(), 3);
      pair.map(zip(numbers(), ['x', 'y']));
    });
    const [, scaled, , paired] = declared.toStructure().tasks;
    expect(scaled).toEqual({
      id: 'scale',
      upstreamIds: ['numbers'],
      args: [{ value: 3 }],
      policy: {},
      map: { sources: [{ xcom: { taskId: 'numbers', key: 'return_value' } }], zip: false },
    });
    expect(paired).toMatchObject({ id: 'pair', upstreamIds: ['numbers__1'], args: [], map: { sources: [{ xcom: { taskId: 'numbers__1', key: 'return_value' } }, { value: ['x', 'y'] }], zip: true } });
  });

  it('says what is wrong with what a task is mapped over', () => {
    const each = task('each', (n: number) => n);
    expect(() => dag({ id: 'bad' }, () => void each.map(42 as never))).toThrow("each.map() maps over an array, a task's output or zip(...); got number.");
    expect(() => dag({ id: 'bad' }, () => void (each.map as (...args: unknown[]) => unknown)())).toThrow("each.map() needs what to map over: an array, a task's output or zip(...).");
    expect(() => zip()).toThrow('zip() needs at least one list.');
    expect(() => zip([1], 'x' as never)).toThrow("zip(): argument 2 is not an array or a task's output.");
  });
});

describe('variable() and connection()', () => {
  it('throw a clear error outside a running task', async () => {
    const { connection, variable } = await import('../index.js');
    await expect(variable('region')).rejects.toThrow('variable() was called outside a running task: call it inside a task function.');
    await expect(connection('db')).rejects.toThrow('connection() was called outside a running task: call it inside a task function.');
    await expect(variable(1 as never)).rejects.toThrow(new TypeError('variable(key): key must be a string, got number'));
  });
});
