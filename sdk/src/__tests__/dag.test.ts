import { describe, expect, it } from 'vitest';
import { chain, context, dag, task } from '../index.js';

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
});
