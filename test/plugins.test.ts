// Installed plugins through the API: the list of plugins with their operators and connection
// types, and testConnection running a connection type's test in a child process: against the
// harness's PostgreSQL (right and wrong password), a closed port, a server that never answers
// (the time limit), an unknown type; never showing the password.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../server/src/api/server.js';
import { PluginRegistry } from '../server/src/plugins/registry.js';
import { fixedSecretKey } from '../server/src/secrets/key.js';
import { closedPort } from './support/ports.js';
import { createTestPlatform, REPO_ROOT, TEST_SCRATCH, TEST_SECRET_KEY, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let api: ReturnType<typeof createApi>;
let silent: Server;
const sockets = new Set<Socket>();

async function gql(query: string, variables?: Record<string, unknown>) {
  const response = await api.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

const TEST = `mutation ($input: TestConnectionInput!) { testConnection(input: $input) { ok message type plugin durationMs } }`;

beforeAll(async () => {
  platform = await createTestPlatform();
  const plugins = new PluginRegistry({ from: REPO_ROOT, cacheDir: path.join(TEST_SCRATCH, 'plugin-bundles'), testTimeoutMs: 1_500, databaseUrl: platform.db.url });
  api = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { secretKey: fixedSecretKey(TEST_SECRET_KEY), plugins });
  silent = createServer((socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await platform?.close();
});

describe('plugins', () => {
  it('lists each installed plugin with its version, operators, sensors and connection types', async () => {
    const { data, errors } = await gql(`{ plugins { name version error operators { name kind description paramsSchema } connectionTypes { type label testable fields { name secret extra required } } } }`);
    expect(errors).toBeUndefined();
    const byName = Object.fromEntries(data.plugins.map((p: { name: string }) => [p.name, p]));
    const summary = (name: string) => ({
      version: byName[name].version,
      error: byName[name].error,
      operators: byName[name].operators.map((o: { name: string; kind: string }) => `${o.kind}:${o.name}`),
      connectionTypes: byName[name].connectionTypes.map((t: { type: string }) => t.type),
    });
    expect(summary('@updraft/plugin-shell')).toEqual({ version: '0.1.0', error: null, operators: ['operator:shell'], connectionTypes: [] });
    expect(summary('@updraft/plugin-http')).toEqual({ version: '0.1.0', error: null, operators: ['operator:http_request', 'sensor:http_sensor'], connectionTypes: ['http'] });
    expect(summary('@updraft/plugin-sql')).toEqual({ version: '0.1.0', error: null, operators: ['operator:sql_query', 'sensor:sql_sensor'], connectionTypes: ['postgres'] });
    expect(summary('@updraft/plugin-email')).toEqual({ version: '0.1.0', error: null, operators: ['operator:send_email'], connectionTypes: ['smtp'] });
    expect(byName['@updraft/sdk']).toBeUndefined();

    const shell = byName['@updraft/plugin-shell'].operators[0];
    expect(shell.paramsSchema.properties.command).toBeDefined();
    const postgres = byName['@updraft/plugin-sql'].connectionTypes[0];
    expect(postgres.testable).toBe(true);
    expect(postgres.fields).toContainEqual({ name: 'password', secret: true, extra: false, required: false });
    expect(postgres.fields).toContainEqual({ name: 'host', secret: false, extra: false, required: true });
  });

  it('tests a stored connection against the real database, and a wrong password without showing it', async () => {
    const url = new URL(platform.db.url);
    const password = decodeURIComponent(url.password);
    const fields = { type: 'postgres', host: url.hostname, port: Number(url.port), login: decodeURIComponent(url.username), schema: url.pathname.slice(1) };
    await gql(`mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created } }`, { input: { id: 'meta', ...fields, password } });

    const good = await gql(TEST, { input: { id: 'meta' } });
    expect(good.errors).toBeUndefined();
    expect(good.data.testConnection).toMatchObject({ ok: true, type: 'postgres', plugin: '@updraft/plugin-sql' });
    expect(good.data.testConnection.message).toMatch(/^connected to PostgreSQL 1\d[.\d]*.*, database "[^"]+", as "[^"]+"$/);

    const wrongPassword = 'Wrong-Pass-9931';
    // The server's error names the user, here the password too: the answer masks it.
    const bad = await gql(TEST, { input: { id: 'meta', password: wrongPassword, login: wrongPassword } });
    expect(bad.data.testConnection.ok).toBe(false);
    expect(bad.data.testConnection.message).toBe('password authentication failed for user "***"');
    expect(JSON.stringify(bad)).not.toContain(wrongPassword);
    expect(JSON.stringify(good)).not.toContain(password);
    const audits = await platform.db.prisma.auditLog.findMany({ where: { action: 'testConnection' } });
    expect(audits).toHaveLength(2);
    const audited = JSON.stringify(audits, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
    expect(audited).not.toContain(wrongPassword);
    expect(audited).not.toContain(password);
  });

  it('bounds the time of a test: a refused port fails at once, a silent server at the time limit', async () => {
    const refused = await gql(TEST, { input: { type: 'http', host: `http://127.0.0.1:${await closedPort()}` } });
    expect(refused.data.testConnection).toMatchObject({ ok: false, plugin: '@updraft/plugin-http' });

    const started = Date.now();
    const hung = await gql(TEST, { input: { type: 'smtp', host: '127.0.0.1', port: (silent.address() as AddressInfo).port } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hung.data.testConnection).toMatchObject({ ok: false, plugin: '@updraft/plugin-email' });
    expect(hung.data.testConnection.message).toMatch(/timed out|took longer than 1.5 s/i);
  });

  it('says when no plugin has the type, and refuses a test with neither an id nor a type', async () => {
    const unknown = await gql(TEST, { input: { type: 'mainframe', host: 'x' } });
    expect(unknown.data.testConnection).toMatchObject({ ok: false, plugin: null });
    expect(unknown.data.testConnection.message).toMatch(/^No installed plugin defines connection type "mainframe" \(installed types: .*postgres.*\)$/);

    const nothing = await gql(TEST, { input: { host: 'x' } });
    expect(nothing.errors?.[0]).toMatchObject({ message: 'Give the id of a connection, or the type and fields of one to test', extensions: { code: 'BAD_USER_INPUT' } });
    const missing = await gql(TEST, { input: { id: 'never_stored' } });
    expect(missing.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
