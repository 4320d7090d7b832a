// Variables and connections through the API: secrets are write-only (no query result, payload
// or audit row ever holds one, for any role), stored encrypted (the database holds only
// ciphertext), a wrong or missing key is a clear error, and bad input is refused clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../server/src/api/schema/index.js';
import { createApi } from '../server/src/api/server.js';
import { fixedSecretKey, SecretKey } from '../server/src/secrets/key.js';
import { createApiToken } from '../server/src/tokens.js';
import { createTestPlatform, TEST_SECRET_KEY, type TestPlatform } from './support/platform.js';

const SECRET_VALUE = 'sv-Top-Secret-Variable-Value';
const PASSWORD = 'pw-Connection-Password-!@#';
const EXTRA_TOKEN = 'xt-Extra-Token-Value-777';
const SECRETS = [SECRET_VALUE, PASSWORD, EXTRA_TOKEN];

type Api = ReturnType<typeof createApi>;
let platform: TestPlatform;
let api: Api;
const tokens: Record<string, string> = {};

async function call(target: Api, query: string, variables?: Record<string, unknown>, token?: string): Promise<any> {
  const response = await target.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}
const codeOf = (body: any) => body.errors?.[0]?.extensions?.code ?? null;

/** Every field of an object type (all are scalars or JSON). */
const allFields = (type: string) => Object.keys((schema.getType(type) as any).getFields()).join(' ');

const SET_VARIABLE = `mutation ($input: SetVariableInput!) { setVariable(input: $input) { variable { ${allFields('Variable')} } } }`;
const UPSERT_CONNECTION = `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created connection { ${allFields('Connection')} } } }`;

beforeAll(async () => {
  platform = await createTestPlatform();
  api = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { auth: { open: false }, secretKey: fixedSecretKey(TEST_SECRET_KEY) });
  for (const role of ['viewer', 'user', 'op', 'admin'] as const) tokens[role] = (await createApiToken(platform.db.prisma, { role }, 'test')).token;
  tokens.opLimited = (await createApiToken(platform.db.prisma, { role: 'op', dagIds: ['some_dag'] }, 'test')).token;
});
afterAll(() => platform?.close());

describe('secrets set through the API', () => {
  let payloads = '';
  let results: any[] = [];

  beforeAll(async () => {
    results = [
      await call(api, SET_VARIABLE, { input: { key: 'warehouse_api_token', value: SECRET_VALUE, description: 'secret by its name' } }, tokens.op),
      await call(api, SET_VARIABLE, { input: { key: 'region', value: 'eu-west-1' } }, tokens.op),
      await call(api, SET_VARIABLE, { input: { key: 'flagged', value: `also ${SECRET_VALUE}`, isSecret: true } }, tokens.admin),
      await call(
        api,
        UPSERT_CONNECTION,
        { input: { id: 'warehouse', type: 'postgres', host: 'db.example', port: 5432, login: 'etl', password: PASSWORD, schema: 'dw', extra: { sslmode: 'require', auth: { token: EXTRA_TOKEN } } } },
        tokens.op,
      ),
      await call(api, UPSERT_CONNECTION, { input: { id: 'no_password', type: 'http', host: 'api.example' } }, tokens.op),
    ];
    for (const result of results) expect(result.errors).toBeUndefined();
    payloads = JSON.stringify(results);
  });

  it('are never in a mutation payload, and say only whether they exist', () => {
    for (const secret of SECRETS) expect(payloads).not.toContain(secret);
    expect(results.map((r) => r.data.setVariable?.variable ?? r.data.upsertConnection.connection)).toMatchObject([
      { key: 'warehouse_api_token', value: null, isSecret: true },
      { key: 'region', value: 'eu-west-1', isSecret: false },
      { key: 'flagged', value: null, isSecret: true },
      { id: 'warehouse', hasPassword: true, extra: { sslmode: 'require', auth: { token: '***' } } },
      { id: 'no_password', hasPassword: false, extra: {} },
    ]);
  });

  it('are never in any query result, for a viewer or an admin selecting every field', async () => {
    const everything = `{
      variables(first: 100) { pageInfo { hasNextPage endCursor } edges { cursor node { ${allFields('Variable')} } } }
      secret: variable(key: "warehouse_api_token") { ${allFields('Variable')} }
      plain: variable(key: "region") { ${allFields('Variable')} }
      connections(first: 100) { edges { cursor node { ${allFields('Connection')} } } }
      connection(id: "warehouse") { ${allFields('Connection')} }
    }`;
    for (const role of ['viewer', 'admin']) {
      const body = await call(api, everything, undefined, tokens[role]);
      expect(body.errors).toBeUndefined();
      const text = JSON.stringify(body);
      for (const secret of SECRETS) expect(text, `${role} sees ${secret}`).not.toContain(secret);
      expect(body.data.secret).toMatchObject({ key: 'warehouse_api_token', value: null, isSecret: true, description: 'secret by its name' });
      expect(body.data.plain).toMatchObject({ value: 'eu-west-1', isSecret: false });
      expect(body.data.connection).toMatchObject({
        id: 'warehouse',
        type: 'postgres',
        host: 'db.example',
        port: 5432,
        login: 'etl',
        schema: 'dw',
        hasPassword: true,
        extra: { sslmode: 'require', auth: { token: '***' } },
      });
      expect(body.data.connections.edges.map((e: any) => [e.node.id, e.node.hasPassword])).toEqual([
        ['no_password', false],
        ['warehouse', true],
      ]);
    }
    // The audit log (what an admin can read of it) neither.
    const audit = await call(api, `{ auditLog(first: 1000) { edges { node { ${allFields('AuditLog')} } } } }`, undefined, tokens.admin);
    const auditText = JSON.stringify(audit);
    for (const secret of SECRETS) expect(auditText).not.toContain(secret);
    const rows = audit.data.auditLog.edges.map((e: any) => e.node);
    expect(rows.find((r: any) => r.action === 'setVariable' && r.target === 'variable:flagged')).toMatchObject({ outcome: 'success', details: { isSecret: true } });
    expect(rows.find((r: any) => r.action === 'upsertConnection' && r.target === 'connection:warehouse')).toMatchObject({
      outcome: 'success',
      details: { type: 'postgres', host: 'db.example', port: 5432, login: 'etl', schema: 'dw', created: true, password: 'set' },
    });
  });

  it('are stored only as ciphertext, which names its format and key and is bound to its row', async () => {
    const { rows: variables } = await platform.pool.query<{ key: string; value: string | null; encrypted_value: Buffer | null }>(`SELECT key, value, encrypted_value FROM variable ORDER BY key`);
    const secret = variables.find((v) => v.key === 'warehouse_api_token')!;
    expect(secret.value).toBeNull();
    expect(secret.encrypted_value!.includes(Buffer.from(SECRET_VALUE))).toBe(false);
    expect(secret.encrypted_value![0]).toBe(1); // format version
    expect(secret.encrypted_value!.subarray(1, 5).toString('hex')).toBe(TEST_SECRET_KEY.id);
    expect(variables.find((v) => v.key === 'region')).toMatchObject({ value: 'eu-west-1', encrypted_value: null });
    const { rows: connections } = await platform.pool.query<{ encrypted_password: Buffer; encrypted_extra: Buffer }>(`SELECT encrypted_password, encrypted_extra FROM connection WHERE id = 'warehouse'`);
    const raw = Buffer.concat([connections[0]!.encrypted_password, connections[0]!.encrypted_extra]);
    for (const text of [PASSWORD, EXTRA_TOKEN, 'sslmode']) expect(raw.includes(Buffer.from(text))).toBe(false);
    // The same value sealed twice differs (a fresh IV each time).
    expect(TEST_SECRET_KEY.seal(SECRET_VALUE, 'variable:x').equals(TEST_SECRET_KEY.seal(SECRET_VALUE, 'variable:x'))).toBe(false);
    // A ciphertext copied to another row does not open there.
    await platform.pool.query(`UPDATE connection SET encrypted_extra = (SELECT encrypted_extra FROM connection WHERE id = 'warehouse') WHERE id = 'no_password'`);
    const copied = await call(api, `{ connection(id: "no_password") { id extra } }`, undefined, tokens.viewer);
    expect(copied.data.connection).toEqual({ id: 'no_password', extra: null });
    expect(copied.errors[0]).toMatchObject({
      message: 'The stored extra of connection "no_password" failed its integrity check (damaged, or copied from another row): set it again',
      extensions: { code: 'SECRETS_UNAVAILABLE' },
    });
    await platform.pool.query(`UPDATE connection SET encrypted_extra = NULL WHERE id = 'no_password'`);
  });

  it('keep a connection’s password when it is omitted, and sensitive extra values sent back as ***', async () => {
    const update = await call(
      api,
      UPSERT_CONNECTION,
      { input: { id: 'warehouse', type: 'postgres', host: 'db2.example', extra: { sslmode: 'verify-full', auth: { token: '***' }, api_key: '***' } } },
      tokens.op,
    );
    expect(update.errors).toBeUndefined();
    expect(update.data.upsertConnection).toMatchObject({ created: false, connection: { host: 'db2.example', port: null, hasPassword: true, extra: { sslmode: 'verify-full', auth: { token: '***' }, api_key: '***' } } });
    const row = await platform.db.prisma.connection.findUniqueOrThrow({ where: { id: 'warehouse' } });
    expect(TEST_SECRET_KEY.open(row.encryptedPassword!, 'connection:warehouse:password', 'password')).toBe(PASSWORD);
    // A *** with no stored value behind it stays ***.
    expect(JSON.parse(TEST_SECRET_KEY.open(row.encryptedExtra!, 'connection:warehouse:extra', 'extra'))).toEqual({ sslmode: 'verify-full', auth: { token: EXTRA_TOKEN }, api_key: '***' });
    expect((await platform.db.prisma.auditLog.findFirst({ where: { action: 'upsertConnection' }, orderBy: { id: 'desc' } }))!.details).toMatchObject({ created: false, password: 'kept' });

    const removed = await call(api, UPSERT_CONNECTION, { input: { id: 'warehouse', type: 'postgres', password: null } }, tokens.op);
    expect(removed.data.upsertConnection.connection).toMatchObject({ hasPassword: false, extra: {} });
    expect((await platform.db.prisma.auditLog.findFirst({ where: { action: 'upsertConnection' }, orderBy: { id: 'desc' } }))!.details).toMatchObject({ password: 'removed' });
  });
});

describe('variables and connections', () => {
  it('are read by viewers and changed by ops, only with tokens not limited to some DAGs', async () => {
    expect(codeOf(await call(api, `{ variables { edges { node { key } } } }`, undefined, tokens.opLimited))).toBe('FORBIDDEN');
    expect(codeOf(await call(api, SET_VARIABLE, { input: { key: 'x', value: 'y' } }, tokens.opLimited))).toBe('FORBIDDEN');
    expect(codeOf(await call(api, SET_VARIABLE, { input: { key: 'x', value: 'y' } }, tokens.user))).toBe('FORBIDDEN');
    expect(codeOf(await call(api, `{ connections { edges { node { id } } } }`, undefined, tokens.viewer))).toBeNull();
  });

  it('page by key with cursors, and are deleted (NOT_FOUND when missing)', async () => {
    for (const key of ['page.a', 'page.b', 'page.c']) await call(api, SET_VARIABLE, { input: { key, value: key } }, tokens.op);
    const first = await call(api, `{ variables(first: 2) { pageInfo { hasNextPage endCursor } edges { node { key } } } }`, undefined, tokens.viewer);
    expect(first.data.variables.edges.map((e: any) => e.node.key)).toEqual(['flagged', 'page.a']);
    const next = await call(api, `query ($after: String) { variables(first: 2, after: $after) { edges { node { key } } } }`, { after: first.data.variables.pageInfo.endCursor }, tokens.viewer);
    expect(next.data.variables.edges.map((e: any) => e.node.key)).toEqual(['page.b', 'page.c']);

    const DELETE_VARIABLE = `mutation ($input: DeleteVariableInput!) { deleteVariable(input: $input) { key } }`;
    expect((await call(api, DELETE_VARIABLE, { input: { key: 'page.a' } }, tokens.op)).data.deleteVariable).toEqual({ key: 'page.a' });
    const again = await call(api, DELETE_VARIABLE, { input: { key: 'page.a' } }, tokens.op);
    expect(again.errors[0]).toMatchObject({ message: 'Variable "page.a" does not exist', extensions: { code: 'NOT_FOUND' } });
    expect(codeOf(await call(api, `{ variable(key: "page.a") { key } }`, undefined, tokens.viewer))).toBe('NOT_FOUND');

    const DELETE_CONNECTION = `mutation ($input: DeleteConnectionInput!) { deleteConnection(input: $input) { id } }`;
    expect((await call(api, DELETE_CONNECTION, { input: { id: 'no_password' } }, tokens.op)).data.deleteConnection).toEqual({ id: 'no_password' });
    expect(codeOf(await call(api, DELETE_CONNECTION, { input: { id: 'no_password' } }, tokens.op))).toBe('NOT_FOUND');
    expect(codeOf(await call(api, `{ connection(id: "no_password") { id } }`, undefined, tokens.viewer))).toBe('NOT_FOUND');
  });

  it('refuse bad keys, ids and values with BAD_USER_INPUT saying what is wrong', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const variableCases: Array<[Record<string, unknown>, string]> = [
      [{ key: 'has space', value: 'v' }, '"has space" is not a variable key: variable keys have 1 to 250 characters, each a letter, a digit, "_", "-" or "."'],
      [{ key: '', value: 'v' }, '"" is not a variable key: variable keys have 1 to 250 characters, each a letter, a digit, "_", "-" or "."'],
      [{ key: 'k'.repeat(251), value: 'v' }, expect.stringMatching(/^"k{80}…" is not a variable key/)],
      [{ key: 'nul\u0000', value: 'v' }, '"nul\\u0000" is not a variable key: variable keys have 1 to 250 characters, each a letter, a digit, "_", "-" or "."'],
      [{ key: 'ok', value: 'a\u0000b' }, 'value contains a NUL character (\\u0000), which cannot be stored'],
      [{ key: 'ok', value: '\uD800' }, 'value contains a lone UTF-16 surrogate, which cannot be stored'],
      [{ key: 'ok', value: big }, `value is ${big.length} bytes; a variable holds at most 1048576 (1 MiB)`],
      [{ key: 'ok', value: 'v', description: 'd'.repeat(1001) }, 'description has 1001 characters; at most 1000'],
    ] as never;
    for (const [input, message] of variableCases) {
      const body = await call(api, SET_VARIABLE, { input }, tokens.op);
      expect(body.errors?.[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
    }
    expect(codeOf(await call(api, `{ variable(key: "a/b") { key } }`, undefined, tokens.viewer))).toBe('BAD_USER_INPUT');

    const connectionCases: Array<[Record<string, unknown>, string]> = [
      [{ id: 'bad id', type: 'http' }, '"bad id" is not a connection id: connection ids have 1 to 250 characters, each a letter, a digit, "_", "-" or "."'],
      [
        { id: 'c', type: 'not a type', port: 70000, host: 'h\u0000', extra: [1] },
        'Connection "c": "not a type" is not a connection type: types have 1 to 100 characters, each a letter, a digit, "_" or "-" (e.g. postgres, http); host contains a NUL character (\\u0000), which cannot be stored; port must be a whole number from 1 to 65535, got 70000; extra must be a JSON object',
      ],
      [{ id: 'c', type: 'http', password: 'p'.repeat(65 * 1024) }, `Connection "c": password is ${65 * 1024} bytes; at most 65536`],
      [{ id: 'c', type: 'http', extra: { blob: 'x'.repeat(70_000) } }, 'Connection "c": extra is 70011 bytes as JSON; at most 65536'],
      [{ id: 'c', type: 'http', extra: { 'k\u0000': 1 } }, 'Connection "c": a key of extra contains a NUL character (\\u0000), which cannot be stored'],
    ];
    for (const [input, message] of connectionCases) {
      const body = await call(api, `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created } }`, { input }, tokens.op);
      expect(body.errors?.[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
    }
    // A failed attempt is audited, without the value that was refused.
    const row = await platform.db.prisma.auditLog.findFirst({ where: { action: 'upsertConnection' }, orderBy: { id: 'desc' } });
    expect(row).toMatchObject({ target: 'connection:c', outcome: expect.stringMatching(/^failed: Connection "c": a key of extra/), details: null });
  });
});

describe('the secret key', () => {
  it('is required to set a secret (SECRETS_UNAVAILABLE without one), not a plain variable', async () => {
    const keyless = createApi({ prisma: platform.db.prisma, pool: platform.pool });
    const secret = await call(keyless, SET_VARIABLE, { input: { key: 'keyless_token', value: 'abcdef' } });
    expect(secret.errors[0]).toMatchObject({
      message: 'The server cannot store or read secrets: this API was started without a secret key (UPDRAFT_SECRET_KEY)',
      extensions: { code: 'SECRETS_UNAVAILABLE' },
    });
    expect(await platform.db.prisma.variable.findUnique({ where: { key: 'keyless_token' } })).toBeNull();
    expect((await call(keyless, SET_VARIABLE, { input: { key: 'keyless_plain', value: 'abcdef' } })).errors).toBeUndefined();
    expect((await platform.db.prisma.auditLog.findFirst({ where: { action: 'setVariable', target: 'variable:keyless_token' } }))!.outcome).toBe(
      'failed: The server cannot store or read secrets: this API was started without a secret key (UPDRAFT_SECRET_KEY)',
    );
  });

  it('that differs from the one values were written with is a clear error naming the connection, never garbage', async () => {
    await call(api, UPSERT_CONNECTION, { input: { id: 'keyed', type: 'http', extra: { a: 1 } } }, tokens.op);
    const other = new SecretKey('a-different-key-for-this-test-0123456789', 'UPDRAFT_SECRET_KEY');
    const wrong = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { secretKey: fixedSecretKey(other) });
    const body = await call(wrong, `{ connection(id: "keyed") { id hasPassword extra } }`);
    expect(body.data.connection).toEqual({ id: 'keyed', hasPassword: false, extra: null });
    expect(body.errors[0]).toMatchObject({
      message: `The stored extra of connection "keyed" was encrypted with secret key ${TEST_SECRET_KEY.id}, but this process has secret key ${other.id} (from UPDRAFT_SECRET_KEY): give it the UPDRAFT_SECRET_KEY the value was written with, or set the value again`,
      extensions: { code: 'SECRETS_UNAVAILABLE' },
      path: ['connection', 'extra'],
    });
  });
});
