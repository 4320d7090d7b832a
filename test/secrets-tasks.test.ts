// Variables and connections in running tasks: `variable()` and `connection()` answered by the
// worker (over IPC for isolated tasks, directly for `isolation: 'none'`), secrets masked as
// `***` in everything a try stores (log lines of every kind, its error), connections from
// `UPDRAFT_CONN_<ID>`, missing names, the wrong key, and the cost of asking in a loop.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedSecretKey, SecretKey } from '../server/src/secrets/key.js';
import { MAX_LOOKUPS_PER_TRY } from '../server/src/executor/task-secrets.js';
import { createTestPlatform, dagFolder, graphql, platformRunning, TEST_SECRET_KEY, type TestPlatform } from './support/platform.js';

const TOKEN = 'sv-Secret-Value-1234';
const PASSWORD = 'cp-Conn/Pass@5678';
const EXTRA_KEY = 'ek-Extra-ApiKey-9012';
const ENV_PASSWORD = 'env-Pass-word-3456';

/** A task that reads everything, logs it every way it can, then throws it. */
const leaky = (isolation: 'process' | 'none') => `
import { connection, context, dag, task, variable } from '@updraft/sdk';
const leak = task({ id: 'leak', isolation: '${isolation}' }, async () => {
  const token = await variable('api_token');
  const region = await variable('region');
  const conn = await connection('warehouse');
  const log = context().log;
  log.info('token is ' + token + ', password is ' + conn.password + ', region is ' + region);
  log.info('fields', { token, nested: { deep: [conn.password] }, password: 'pw', db_Password: 123, apiKey: { any: 'thing' }, plain: region, extra: conn.extra });
  console.log('console:', token, conn);
  console.error(JSON.stringify({ conn }));
  ${isolation === 'process' ? "process.stdout.write('raw ' + token + '\\n'); process.stderr.write(conn.password + ' on stderr\\n');" : ''}
  throw new Error('failed with ' + token + ' and ' + conn.password + ' at ' + conn.host);
});
export default dag({ id: 'leaky_${isolation}' }, () => { leak(); });
`;

const ROLE_ID = 'rid-7f3a9c2e-Plain';
const UNSEAL = ['unseal-one-1111', 'unseal-two-2222'];
const ROLE_LOGIN = 'svc-role-login';
const ENV_ROLE_ID = 'env-role-id-4444';
const OTHER_ROLE_ID = 'other-role-id-5555';

/** A connection type marking fields secret whose names do not look sensitive, as a plugin would define it. */
const typed = (isolation: 'process' | 'none') => `
import { connection, context, dag, defineConnectionType, task } from '@updraft/sdk';
const vault = defineConnectionType({
  type: 'vault',
  label: 'Vault',
  fields: {
    host: { label: 'Host' },
    login: { label: 'Role', secret: true },
    password: { label: 'Password' },
    extra: { role_id: { label: 'Role id', secret: true }, unseal: { label: 'Unseal keys', secret: true }, region: { label: 'Region' } },
  },
});
const use = task({ id: 'use', isolation: '${isolation}' }, async () => {
  const log = context().log;
  const conn = await vault.get('vault_db');
  log.info('role ' + conn.login + ' id ' + conn.extra.role_id + ' unseal ' + JSON.stringify(conn.extra.unseal) + ' region ' + conn.extra.region);
  log.info('fields', { extra: conn.extra, who: conn.login });
  // connection() reads one of the type just as well, here from UPDRAFT_CONN_VAULT_ENV.
  const fromEnv = await connection('vault_env');
  console.log('env role', fromEnv.extra.role_id);
  // Another type: its role_id is no secret (the name does not look sensitive).
  const other = await connection('other_db');
  console.log('other role', other.extra.role_id);
  throw new Error('failed with ' + conn.extra.role_id + ' as ' + conn.login + ' and ' + fromEnv.extra.role_id);
});
export default dag({ id: 'typed_${isolation}' }, () => { use(); });
`;

/** Structured fields with sensitive names at any depth, names that are not, and hostile ones. */
const fieldsDag = (isolation: 'process' | 'none') => `
import { context, dag, task } from '@updraft/sdk';
const fields = task({ id: 'fields', isolation: '${isolation}' }, async () => {
  const log = context().log;
  log.info('named', {
    password: 'pw-1', Token: 'tk-1', client_secret: 'cs-1', API_KEY: 'ak-1', apiKey: { any: ['thing'] },
    nested: { deeper: [{ db_password: 'dbpw-1', 'X-Auth-Token': 'xat-1', region: 'eu' }] },
    tokenizer_count: 3, key: 'k-1', pass: 'p-1', author: 'a-1', user: 'u-1',
  });
  // Hostile: a million-entry object, an object nested far deeper than the stack allows, one nested 1,000 levels.
  const huge = { rows: Array.from({ length: 1_000_000 }, (_, i) => ({ i, password: 'pw' })) };
  let deep: unknown = 'end';
  for (let i = 0; i < 1_000_000; i++) deep = { d: deep };
  let nested: unknown = { password: 'too-deep-pw' };
  for (let i = 0; i < 1_000; i++) nested = { n: nested };
  const timed = (message: string, value: unknown) => { const t0 = performance.now(); log.info(message, { value }); return performance.now() - t0; };
  return { huge: timed('huge', huge), deep: timed('deep', deep), nested: timed('nested', nested) };
});
export default dag({ id: 'fields_${isolation}' }, () => { fields(); });
`;

const DAGS = {
  'leaky_process.ts': leaky('process'),
  'leaky_none.ts': leaky('none'),
  'typed_process.ts': typed('process'),
  'typed_none.ts': typed('none'),
  'fields_process.ts': fieldsDag('process'),
  'fields_none.ts': fieldsDag('none'),
  'reader.ts': `
import { connection, dag, task, variable, VariableNotFound } from '@updraft/sdk';
const read = task({ id: 'read', isolation: 'process' }, async () => {
  const region = await variable('region');
  const fallback = await variable('no_such_variable', { default: null });
  let missing = '';
  try { await variable('no_such_variable'); } catch (e) { missing = (e instanceof VariableNotFound) + ' ' + (e as Error).message; }
  const fromEnv = await connection('from_env');
  const overridden = await connection('warehouse_env');
  return { region, fallback, missing, fromEnv, overridden: overridden.host };
});
const readInWorker = task({ id: 'read_in_worker', isolation: 'none' }, async () => {
  const conn = await connection('warehouse');
  conn.password = 'changed by the task';
  return { again: (await connection('warehouse')).password === ${JSON.stringify(PASSWORD)}, region: await variable('region') };
});
export default dag({ id: 'reader' }, () => { read(); readInWorker(); });
`,
  'missing.ts': `
import { dag, task, variable, connection } from '@updraft/sdk';
const v = task({ id: 'variable', isolation: 'process' }, async () => variable('never_set'));
const c = task({ id: 'connection', isolation: 'none' }, async () => connection('never_made'));
export default dag({ id: 'missing' }, () => { v(); c(); });
`,
  'loop.ts': `
import { dag, task, variable } from '@updraft/sdk';
const loop = task({ id: 'loop', isolation: 'process' }, async () => {
  let n = 0;
  for (let i = 0; i < 5000; i++) n += (await variable('region')).length;
  return n;
});
const many = task({ id: 'many', isolation: 'none' }, async () => {
  for (let i = 0; i < ${MAX_LOOKUPS_PER_TRY + 1}; i++) await variable('v' + i, { default: '' });
});
export default dag({ id: 'loop' }, () => { loop(); many(); });
`,
  'early.ts': `
import { context, dag, task, variable } from '@updraft/sdk';
const early = task('early', async () => {
  context().log.info('known before it was read: ' + ${JSON.stringify(TOKEN)});
  await variable('api_token');
});
// Waits past the log's flush interval, so that the line is written before the secret is read.
const written = task('written', async () => {
  context().log.info('written before it was read: ' + ${JSON.stringify(TOKEN)}, { note: ${JSON.stringify(TOKEN)} });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await variable('api_token');
  context().log.info('after');
});
export default dag({ id: 'early' }, () => { early(); written(); });
`,
  'short.ts': `
import { context, dag, task, variable } from '@updraft/sdk';
const short = task('short', async () => { context().log.info('pin ' + (await variable('pin')) + ', in a field:', { pin_secret: 'x' }); });
export default dag({ id: 'short' }, () => { short(); });
`,
};

const WRONG_KEY_DAG = `
import { connection, dag, task, variable } from '@updraft/sdk';
const v = task({ id: 'variable', isolation: 'process' }, () => variable('api_token'));
const c = task({ id: 'connection', isolation: 'none' }, () => connection('warehouse'));
export default dag({ id: 'wrong_key' }, () => { v(); c(); });
`;

let platform: TestPlatform;

async function gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
  return graphql<T>(platform, query, variables);
}

/** Every log line and the error of the run's only try, as stored. */
async function stored(runId: number) {
  const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { logs: { orderBy: { seq: 'asc' } } } });
  expect(tries).toHaveLength(1);
  return tries[0]!;
}

beforeAll(async () => {
  platform = await platformRunning(DAGS);
  // Connections from the environment: a new one, and one that also exists in the database (the environment wins).
  process.env.UPDRAFT_CONN_FROM_ENV = `postgres://env_user:${encodeURIComponent(ENV_PASSWORD)}@env-host.example:6543/envdb?sslmode=require`;
  process.env.UPDRAFT_CONN_WAREHOUSE_ENV = JSON.stringify({ type: 'postgres', host: 'from-the-environment' });
  const SET = `mutation ($input: SetVariableInput!) { setVariable(input: $input) { variable { key isSecret } } }`;
  await gql(SET, { input: { key: 'api_token', value: TOKEN } }); // secret by its name
  await gql(SET, { input: { key: 'region', value: 'eu-west-1', isSecret: false } });
  await gql(SET, { input: { key: 'pin', value: '42', isSecret: true } });
  const UPSERT = `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created } }`;
  await gql(UPSERT, { input: { id: 'warehouse', type: 'postgres', host: 'db.example', port: 5432, login: 'etl', password: PASSWORD, schema: 'dw', extra: { sslmode: 'require', api_key: EXTRA_KEY } } });
  await gql(UPSERT, { input: { id: 'warehouse_env', type: 'postgres', host: 'from-the-database' } });
  await gql(UPSERT, { input: { id: 'vault_db', type: 'vault', host: 'vault.example', login: ROLE_LOGIN, extra: { role_id: ROLE_ID, unseal: UNSEAL, region: 'eu-west-1' } } });
  await gql(UPSERT, { input: { id: 'other_db', type: 'other', host: 'other.example', extra: { role_id: OTHER_ROLE_ID } } });
  process.env.UPDRAFT_CONN_VAULT_ENV = JSON.stringify({ type: 'vault', host: 'vault-env.example', extra: { role_id: ENV_ROLE_ID } });
});
afterAll(async () => {
  delete process.env.UPDRAFT_CONN_FROM_ENV;
  delete process.env.UPDRAFT_CONN_WAREHOUSE_ENV;
  delete process.env.UPDRAFT_CONN_VAULT_ENV;
  await platform?.close();
});

describe.each(['process', 'none'] as const)('a task (isolation: %s) that logs and throws its secrets', (isolation) => {
  it('stores *** instead of the secret variable, the connection password and sensitive fields, everywhere', async () => {
    const runId = await platform.trigger(`leaky_${isolation}`);
    expect(await platform.waitForRun(runId)).toBe('failed');
    const t = await stored(runId);
    const everything = JSON.stringify(t, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
    for (const secret of [TOKEN, PASSWORD, EXTRA_KEY, encodeURIComponent(PASSWORD)]) expect(everything).not.toContain(secret);

    const messages = t.logs.map((l) => l.message);
    expect(messages[0]).toBe('token is ***, password is ***, region is eu-west-1');
    expect(t.logs[1]!.fields).toEqual({
      token: '***',
      nested: { deep: ['***'] },
      password: '***',
      db_Password: '***',
      apiKey: '***',
      plain: 'eu-west-1',
      extra: { sslmode: 'require', api_key: '***' },
    });
    expect(messages.find((m) => m.startsWith('console:'))).toMatch(/^console: \*\*\* \{[^]*password: '\*\*\*'/);
    expect(messages.find((m) => m.startsWith('{"conn"'))).toContain('"password":"***"');
    if (isolation === 'process') {
      expect(messages).toContain('raw ***');
      expect(messages).toContain('*** on stderr');
    }
    const error = t.error as { name: string; message: string; stack: string };
    expect(error.message).toBe('failed with *** and *** at db.example');
    expect(error.stack).toContain('failed with *** and ***');
    expect(messages.at(-1)).toBe('Try 1 failed: failed with *** and *** at db.example');

    // Through the API, as anyone would read it.
    const api = await gql(`query ($id: ID!) { dagRun(id: $id) { taskInstances(first: 10) { edges { node { tries { error logs(first: 100) { edges { node { message fields } } } } } } } } }`, { id: String(runId) });
    const text = JSON.stringify(api);
    for (const secret of [TOKEN, PASSWORD, EXTRA_KEY]) expect(text).not.toContain(secret);
    expect(text).toContain('***');
  });
});

describe.each(['process', 'none'] as const)('a task (isolation: %s) that reads a connection of a type with secret fields', (isolation) => {
  it('shows *** for every secret field (login, extra fields whatever their names) in its lines, fields, error and stack', async () => {
    const runId = await platform.trigger(`typed_${isolation}`);
    expect(await platform.waitForRun(runId)).toBe('failed');
    const t = await stored(runId);
    const everything = JSON.stringify(t, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
    for (const secret of [ROLE_ID, ...UNSEAL, ROLE_LOGIN, ENV_ROLE_ID]) expect(everything).not.toContain(secret);
    expect(t.logs.map((l) => l.message).slice(0, 4)).toEqual(['role *** id *** unseal ["***","***"] region eu-west-1', 'fields', 'env role ***', `other role ${OTHER_ROLE_ID}`]);
    expect(t.logs[1]!.fields).toEqual({ extra: { role_id: '***', unseal: ['***', '***'], region: 'eu-west-1' }, who: '***' });
    const error = t.error as { message: string; stack: string };
    expect(error.message).toBe('failed with *** as *** and ***');
    expect(error.stack).toContain('failed with *** as *** and ***');
  });
});

describe.each(['process', 'none'] as const)('log fields of a task (isolation: %s)', (isolation) => {
  it('mask values under sensitive names at any depth (matched anywhere in the name, as Airflow does), and cost little however huge or deep', async () => {
    const runId = await platform.trigger(`fields_${isolation}`);
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');
    const t = await stored(runId);
    const byMessage = Object.fromEntries(t.logs.map((l) => [l.message, l.fields]));
    expect(byMessage.named).toEqual({
      password: '***',
      Token: '***',
      client_secret: '***',
      API_KEY: '***',
      apiKey: '***',
      nested: { deeper: [{ db_password: '***', 'X-Auth-Token': '***', region: 'eu' }] },
      // "token" is in the name: masked too (see isSensitiveName); key, pass, author and user are not sensitive names.
      tokenizer_count: '***',
      key: 'k-1',
      pass: 'p-1',
      author: 'a-1',
      user: 'u-1',
    });
    // The million entries were not serialized: serializing stopped at 64 KB.
    expect(byMessage.huge).toEqual({ fieldsCut: 'the fields of this line are over 64 KB and were not kept' });
    expect(byMessage.deep).toEqual({ unserializableFields: expect.stringMatching(/^RangeError: |over 64 KB/) });
    expect(JSON.stringify(byMessage.nested)).toContain('"[nested deeper than 64 levels]"');
    expect(JSON.stringify(byMessage.nested)).not.toContain('too-deep-pw');
    // What each log call cost the task (serializing a million entries takes seconds).
    const cost = (await platform.taskInstances(runId))[0]!.returnValue as Record<string, number>;
    console.log(`log calls (isolation ${isolation}): ${JSON.stringify(cost)} ms`);
    for (const ms of Object.values(cost)) expect(ms).toBeLessThan(250);
  }, 60_000);
});

describe('variable() and connection() in tasks', () => {
  it('read plain variables, defaults, UPDRAFT_CONN_<ID> connections (which win over stored ones), and copies of cached values', async () => {
    const runId = await platform.trigger('reader');
    expect(await platform.waitForRun(runId)).toBe('success');
    const values = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti.returnValue]));
    expect(values.read).toEqual({
      region: 'eu-west-1',
      fallback: null,
      missing: 'true Variable "no_such_variable" does not exist: set it (the setVariable mutation), or give a default: variable("no_such_variable", { default: … })',
      fromEnv: { id: 'from_env', type: 'postgres', host: 'env-host.example', port: 6543, login: 'env_user', password: ENV_PASSWORD, schema: 'envdb', extra: { sslmode: 'require' } },
      overridden: 'from-the-environment',
    });
    // A task that changes what it was given does not change what the next call returns.
    expect(values.read_in_worker).toEqual({ again: true, region: 'eu-west-1' });
  });

  it('fail a try clearly for a variable or a connection that does not exist', async () => {
    const runId = await platform.trigger('missing');
    expect(await platform.waitForRun(runId)).toBe('failed');
    const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: true } });
    const errors = Object.fromEntries(tries.map((t) => [t.taskInstance.taskId, t.error]));
    expect(errors.variable).toMatchObject({
      name: 'VariableNotFound',
      message: 'Variable "never_set" does not exist: set it (the setVariable mutation), or give a default: variable("never_set", { default: … })',
    });
    expect(errors.connection).toMatchObject({
      name: 'ConnectionNotFound',
      message: 'Connection "never_made" does not exist: create it (the upsertConnection mutation), or set UPDRAFT_CONN_NEVER_MADE to its URI on the workers',
    });
  });

  it('cost one query per name and try however often a task asks, and at most a bounded number of names', async () => {
    let queries = 0;
    const query = platform.pool.query.bind(platform.pool);
    platform.pool.query = ((config: unknown, ...rest: unknown[]) => {
      if (typeof config === 'object' && config !== null && (config as { name?: string }).name === 'updraft_select_variable') queries++;
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof platform.pool.query;
    try {
      const runId = await platform.trigger('loop');
      expect(await platform.waitForRun(runId, 60_000)).toBe('failed');
      const tries = await platform.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: true } });
      const byTask = Object.fromEntries(tries.map((t) => [t.taskInstance.taskId, t]));
      expect(byTask.loop!.state).toBe('success');
      expect(byTask.many!.error).toMatchObject({
        name: 'TooManyLookups',
        message: `A try may read at most ${MAX_LOOKUPS_PER_TRY} different variables and connections; variable "v${MAX_LOOKUPS_PER_TRY}" is one too many`,
      });
      expect(queries).toBe(1 + MAX_LOOKUPS_PER_TRY);
    } finally {
      platform.pool.query = query;
    }
  });

  it('mask a secret in lines logged before the try read it', async () => {
    const runId = await platform.trigger('early');
    expect(await platform.waitForRun(runId)).toBe('success');
    const lines = async (taskId: string) => (await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstance: { dagRunId: runId, taskId } } }, orderBy: { seq: 'asc' } })).map((l) => [l.message, l.fields]);
    expect(await lines('early')).toEqual([['known before it was read: ***', null]]);
    // Stored while the try ran, then masked again when it ended.
    expect(await lines('written')).toEqual([['written before it was read: ***', { note: '***' }], ['after', null]]);
  });

  it('leave secrets shorter than 4 characters unmasked in text (fields with sensitive names are masked whatever their value)', async () => {
    const runId = await platform.trigger('short');
    expect(await platform.waitForRun(runId)).toBe('success');
    const [line] = (await stored(runId)).logs;
    expect(line).toMatchObject({ message: 'pin 42, in a field:', fields: { pin_secret: '***' } });
  });
});

describe('a worker with another secret key', () => {
  it('fails the try with an error naming the variable or the connection and both keys, never with garbage', async () => {
    const p = await createTestPlatform();
    try {
      expect((await p.deploy(await dagFolder({ 'wrong_key.ts': WRONG_KEY_DAG }))).importErrors).toEqual([]);
      await graphql(p, `mutation { setVariable(input: { key: "api_token", value: "${TOKEN}" }) { variable { key } } }`);
      await graphql(p, `mutation { upsertConnection(input: { id: "warehouse", type: "postgres", password: "${PASSWORD}" }) { created } }`);
      const key = new SecretKey('another-key-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789', 'UPDRAFT_SECRET_KEY');
      await p.startWorker(2, { secretKey: fixedSecretKey(key) });
      const runId = await p.trigger('wrong_key');
      expect(await p.waitForRun(runId)).toBe('failed');
      const tries = await p.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: true } });
      const errors = Object.fromEntries(tries.map((t) => [t.taskInstance.taskId, t.error]));
      const mismatch = (what: string) =>
        `The stored ${what} was encrypted with secret key ${TEST_SECRET_KEY.id}, but this process has secret key ${key.id} (from UPDRAFT_SECRET_KEY): ` +
        'give it the UPDRAFT_SECRET_KEY the value was written with, or set the value again';
      expect(errors.variable).toMatchObject({ name: 'SecretUnreadable', message: mismatch('value of variable "api_token"') });
      expect(errors.connection).toMatchObject({ name: 'SecretUnreadable', message: mismatch('password of connection "warehouse"') });
    } finally {
      await p.close();
    }
  });
});

describe('a worker without a secret key', () => {
  it('runs tasks, reads plain variables, and fails a try that reads a secret saying it has no key', async () => {
    const p = await createTestPlatform();
    try {
      expect((await p.deploy(await dagFolder({ 'wrong_key.ts': WRONG_KEY_DAG }))).importErrors).toEqual([]);
      await graphql(p, `mutation { setVariable(input: { key: "api_token", value: "${TOKEN}" }) { variable { key } } }`);
      await graphql(p, `mutation { upsertConnection(input: { id: "warehouse", type: "postgres", host: "h" }) { created } }`);
      await p.startWorker(2, { secretKey: undefined });
      const runId = await p.trigger('wrong_key');
      expect(await p.waitForRun(runId)).toBe('failed');
      const tries = await p.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { taskInstance: true } });
      const byTask = Object.fromEntries(tries.map((t) => [t.taskInstance.taskId, t]));
      expect(byTask.variable!.error).toMatchObject({
        name: 'NoSecretKey',
        message: 'Could not read variable "api_token": it is stored encrypted, and this worker was started without a secret key (UPDRAFT_SECRET_KEY)',
      });
      // A connection without a password or extra needs no key.
      expect(byTask.connection!.state).toBe('success');
    } finally {
      await p.close();
    }
  });
});

describe('console.* of an in-process task', () => {
  it('goes with its try (masked), while a listener that prints the try’s lines prints them to the worker’s console', async () => {
    const p = await createTestPlatform();
    // Calls through to whatever console.log is (the worker's patch, once an in-process task ran).
    const spy = vi.spyOn(console, 'log');
    try {
      const dagFile = `
import { context, dag, task, variable } from '@updraft/sdk';
const talk = task({ id: 'talk', isolation: 'none' }, async () => {
  context().log.info('via the logger');
  console.log('via console', await variable('api_token'));
});
export default dag({ id: 'talk' }, () => { talk(); });
`;
      expect((await p.deploy(await dagFolder({ 'talk.ts': dagFile }))).importErrors).toEqual([]);
      await graphql(p, `mutation { setVariable(input: { key: "api_token", value: "${TOKEN}" }) { variable { key } } }`);
      await p.startWorker(1, { onEvent: (event) => event.kind === 'log' && console.log(`printed: ${event.line.message}`) });
      const runId = await p.trigger('talk');
      expect(await p.waitForRun(runId)).toBe('success');
      const tries = await p.db.prisma.taskTry.findMany({ where: { taskInstance: { dagRunId: runId } }, include: { logs: { orderBy: { seq: 'asc' } } } });
      expect(tries[0]!.logs.map((l) => l.message)).toEqual(['via the logger', 'via console ***']);
      const printed = spy.mock.calls.map((args) => args.join(' ')).filter((line) => line.startsWith('printed:'));
      expect(printed).toEqual(['printed: via the logger', 'printed: via console ***']);
    } finally {
      spy.mockRestore();
      await p.close();
    }
  });
});
