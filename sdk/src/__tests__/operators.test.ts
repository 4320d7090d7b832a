import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag, defineConnectionType, defineOperator, defineSensor, isConnectionType, isOperator, runConnectionTest, task } from '../index.js';

const greet = defineOperator({
  name: 'greet',
  description: 'Says hello.',
  params: z.strictObject({ name: z.string().min(1), times: z.number().int().default(1) }),
  defaults: { retries: 3 },
  run: ({ name, times }) => `hello ${name}`.repeat(times),
});
const waitFor = defineSensor({ name: 'wait_for', params: z.object({ path: z.string() }), defaults: { interval: '5s' }, poke: () => false });

describe('defineOperator / defineSensor', () => {
  it('declares task nodes: params as the one argument, operator defaults under the task’s own options, sensors as sensors, .map() like a task', () => {
    const names = task('names', () => [{ name: 'a' }]);
    const d = dag({ id: 'ops' }, () => {
      greet({ id: 'hi', retries: 1 })({ name: 'ada' });
      greet('again')({ name: 'bob', times: 2 });
      greet('each').map(names());
      greet('literal_each').map([{ name: 'x' }, { name: 'y' }]);
      waitFor({ id: 'wait', mode: 'reschedule' })({ path: '/x' });
    });
    const tasks = Object.fromEntries(d.toStructure().tasks.map((t) => [t.id, t]));
    expect(tasks.hi).toMatchObject({ args: [{ value: { name: 'ada' } }], policy: { retries: 1 } });
    expect(tasks.again!.policy).toEqual({ retries: 3 });
    expect(tasks.each).toMatchObject({ upstreamIds: ['names'], map: { sources: [{ xcom: { taskId: 'names', key: 'return_value' } }], zip: false } });
    expect(tasks.wait!.kind).toEqual({ type: 'sensor', mode: 'reschedule', interval: '5s', timeout: '7d', softFail: false, exponentialBackoff: false });
    expect(isOperator(greet)).toBe(true);
    expect(greet.operator).toMatchObject({ kind: 'operator', name: 'greet', description: 'Says hello.' });
    expect((greet.operator.paramsSchema as { required: string[] }).required).toEqual(['name']);
  });

  it('refuses literal params at declaration, naming the task, the operator and each field', () => {
    expect(() => dag({ id: 'bad' }, () => greet('hi')({ name: '', extra: 1 } as never))).toThrow(
      /^Invalid params of task "hi" \(operator greet\): name: Too small: expected string to have >=1 characters; Unrecognized key: "extra"$/,
    );
    expect(() => dag({ id: 'bad_map' }, () => greet('each').map([{ name: 'ok' }, { times: 2 } as never]))).toThrow(/^Invalid params of task "each" \(operator greet\) \(item 1 of \.map\(\)\): name: /);
  });

  it('refuses a bad name or a params option that validates nothing', () => {
    expect(() => defineOperator({ name: 'has space', params: z.object({}), run: () => null })).toThrow('defineOperator(): name must be a letter then letters, digits or _ (at most 100), got "has space"');
    expect(() => defineOperator({ name: 'x', params: {} as never, run: () => null })).toThrow('defineOperator({ name: "x" }): params must be a zod schema (or another Standard Schema validator)');
  });
});

describe('defineConnectionType', () => {
  const pg = defineConnectionType({
    type: 'postgres',
    fields: { host: { label: 'Host', required: true }, password: { label: 'Password' }, extra: { token: { label: 'Token', secret: true, required: true } } },
    defaultPort: 5432,
    test: async (conn) => `port ${conn.port}`,
  });
  const conn = { id: 'c', type: 'postgres', host: 'db', port: null, login: null, password: 'pw', schema: null, extra: { token: 't' } };

  it('describes its fields (the password always secret) and runs its test with the default port', async () => {
    expect(isConnectionType(pg)).toBe(true);
    expect(pg.connectionType.fields).toEqual([
      { name: 'host', label: 'Host', description: null, required: true, secret: false, extra: false },
      { name: 'password', label: 'Password', description: null, required: false, secret: true, extra: false },
      { name: 'token', label: 'Token', description: null, required: true, secret: true, extra: true },
    ]);
    expect(await runConnectionTest(pg, conn, new AbortController().signal)).toEqual({ ok: true, message: 'port 5432' });
  });

  it('reports missing required fields, a wrong type and a throwing test as failures', async () => {
    expect(await runConnectionTest(pg, { ...conn, type: 'http', host: null, extra: {} }, new AbortController().signal)).toEqual({
      ok: false,
      message: 'it is of type "http", not "postgres"; host (Host) is required; extra.token (Token) is required',
    });
    const throwing = defineConnectionType({ type: 'x', fields: {}, test: async () => { throw new TypeError('no route'); } });
    expect(await runConnectionTest(throwing, { ...conn, type: 'x' }, new AbortController().signal)).toEqual({ ok: false, message: 'TypeError: no route' });
  });
});

describe('a plugin with its own copy of the SDK', () => {
  it('declares its tasks into the DAG being built by the DAG file’s copy', async () => {
    // A second copy of the SDK, bundled on its own, as a plugin with a nested @updraft/sdk would bring.
    const built = await esbuild.build({ entryPoints: [fileURLToPath(new URL('../index.ts', import.meta.url))], bundle: true, format: 'cjs', platform: 'node', write: false, logLevel: 'silent' });
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'updraft-sdk-copy-')), 'sdk.cjs');
    await writeFile(file, built.outputFiles[0]!.text);
    const other = createRequire(import.meta.url)(file) as typeof import('../index.js');
    const shout = other.defineOperator({ name: 'shout', params: z.object({ text: z.string() }), run: ({ text }) => text.toUpperCase() });
    expect(other.dag).not.toBe(dag);
    const d = dag({ id: 'mixed' }, () => {
      shout('shout')({ text: 'hi' }).after(task('first', () => 1)());
    });
    expect(d.toStructure().tasks.map((t) => [t.id, t.upstreamIds])).toEqual([
      ['shout', ['first']],
      ['first', []],
    ]);
  });
});
