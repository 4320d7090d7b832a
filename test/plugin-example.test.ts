// The plugin guide's example (docs/plugins.md, docs/examples/plugin-example) works as written:
// the package builds with its own tsconfig, a project that installs it type-checks its example
// DAG strictly, the platform discovers it by its "updraft": { "plugin": true } field, tests its
// connection type, and runs the DAG against a chat server started here.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginRegistry } from '../server/src/plugins/registry.js';
import { createTestPlatform, REPO_ROOT, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

const EXAMPLE = path.join(REPO_ROOT, 'docs/examples/plugin-example');
const TOKEN = 'chat-bot-token-5521';
const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

function tsc(project: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSC, '-p', project]);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The chat service: a bot token, messages that are acknowledged on the second look at them. */
const messages = new Map<string, { channel: string; text: string; looks: number }>();
const authorizations: string[] = [];
function handle(req: IncomingMessage, res: ServerResponse) {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    authorizations.push(String(req.headers.authorization));
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: 'bad token' });
    if (req.method === 'GET' && req.url === '/api/me') return json(200, { name: 'release-bot' });
    if (req.method === 'POST' && req.url === '/api/messages') {
      const id = `m${messages.size + 1}`;
      messages.set(id, { ...(JSON.parse(body) as { channel: string; text: string }), looks: 0 });
      return json(201, { id });
    }
    const message = messages.get(decodeURIComponent(req.url!.replace('/api/messages/', '')));
    if (req.method === 'GET' && message) return json(200, { ackedBy: ++message.looks >= 2 ? 'ada' : null });
    return json(404, { error: 'not found' });
  });
}

describe('the plugin guide example (@acme/updraft-chat)', () => {
  let project: string;
  let server: Server;
  let base: string;
  let platform: TestPlatform;
  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A DAG project with the plugin installed (linked, as `npm install ../plugin-example` does).
    project = path.join(TEST_SCRATCH, 'plugin-example');
    await fs.mkdir(path.join(project, 'node_modules/@acme'), { recursive: true });
    await fs.mkdir(path.join(project, 'dags'), { recursive: true });
    await fs.symlink(EXAMPLE, path.join(project, 'node_modules/@acme/updraft-chat'), 'dir');
    await fs.copyFile(path.join(EXAMPLE, 'dags/release_notice.ts'), path.join(project, 'dags/release_notice.ts'));
    platform = await createTestPlatform();
  });
  afterAll(async () => {
    delete process.env.UPDRAFT_CONN_TEAM_CHAT;
    await platform?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("the guide's code is the example's: every line of its TypeScript blocks is in the example's files", async () => {
    const guide = await fs.readFile(path.join(REPO_ROOT, 'docs/plugins.md'), 'utf8');
    const sources = await Promise.all(['src/index.ts', 'dags/release_notice.ts'].map((file) => fs.readFile(path.join(EXAMPLE, file), 'utf8')));
    const lines = new Set(sources.join('\n').split('\n').map((line) => line.trim()));
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const quoted = blocks.flatMap((block) => block.split('\n')).map((line) => line.trim()).filter((line) => line !== '');
    expect(quoted.filter((line) => !lines.has(line))).toEqual([]);
  });

  it('builds with its own tsconfig, and its example DAG type-checks strictly against the built types', { timeout: 120_000 }, async () => {
    await fs.rm(path.join(EXAMPLE, 'dist'), { recursive: true, force: true });
    const build = await tsc(path.join(EXAMPLE, 'tsconfig.json'));
    expect(build.output).toBe('');
    expect(build.code).toBe(0);
    expect((await fs.readdir(path.join(EXAMPLE, 'dist'))).sort()).toEqual(['index.d.ts', 'index.js', 'index.js.map']);

    await fs.writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, include: ['dags', 'checks'] }),
    );
    // The types are the plugin's, not `any`: tsc fails unless these lines are errors.
    await fs.mkdir(path.join(project, 'checks'), { recursive: true });
    await fs.writeFile(
      path.join(project, 'checks/types.ts'),
      `import { postMessage, messageAcknowledged } from '@acme/updraft-chat';
export function wrong(): void {
  // @ts-expect-error: text is required
  postMessage('p')({ connection: 'c' });
  // @ts-expect-error: messageId is a string
  messageAcknowledged('a')({ connection: 'c', messageId: 1 });
}
`,
    );
    const check = await tsc(path.join(project, 'tsconfig.json'));
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });

  it('is discovered by its package.json field, and its connection test signs in (or says why not, without the token)', async () => {
    const registry = new PluginRegistry({ from: project, cacheDir: path.join(TEST_SCRATCH, 'plugin-example-bundles'), databaseUrl: platform.db.url });
    const chat = (await registry.list()).find((p) => p.name === '@acme/updraft-chat');
    expect(chat).toMatchObject({ version: '1.0.0', error: null });
    expect(chat!.operators.map((o) => `${o.kind}:${o.name}`).sort()).toEqual(['operator:post_message', 'sensor:message_acknowledged']);
    expect(chat!.connectionTypes.map((t) => [t.type, t.fields.map((f) => `${f.name}${f.secret ? ' (secret)' : ''}`)])).toEqual([['chat', ['host', 'password (secret)', 'channel']]]);

    const conn = { id: 'team_chat', type: 'chat', host: base, port: null, login: null, password: TOKEN, schema: null, extra: {} };
    expect(await registry.testConnection(conn)).toMatchObject({ ok: true, message: 'signed in as release-bot', plugin: '@acme/updraft-chat' });
    const wrong = await registry.testConnection({ ...conn, password: 'not-the-token' });
    expect(wrong).toMatchObject({ ok: false, message: 'ChatRequestFailed: GET /api/me answered 401' });
    expect(authorizations).toContain('Bearer not-the-token'); // it did reach the service
  });

  it('runs the example DAG: posts the notice, waits for the acknowledgement', { timeout: 60_000 }, async () => {
    // The JSON form, since the local service speaks plain HTTP (a host name alone means HTTPS).
    process.env.UPDRAFT_CONN_TEAM_CHAT = JSON.stringify({ conn_type: 'chat', host: base, password: TOKEN, extra: { channel: 'releases' } });
    const deployed = await platform.deploy(path.join(project, 'dags'));
    expect(deployed.importErrors).toEqual([]);
    await platform.startWorker();
    const runId = await platform.trigger('release_notice', { version: '2.4.0' });
    expect(await platform.waitForRun(runId, 45_000)).toBe('success');
    const byTask = Object.fromEntries((await platform.taskInstances(runId)).map((ti) => [ti.taskId, ti]));
    expect(byTask.announce).toMatchObject({ state: 'success', returnValue: 'm1' });
    expect(byTask.acknowledged).toMatchObject({ state: 'success', returnValue: 'ada' });
    expect([...messages.values()]).toEqual([{ channel: 'releases', text: 'Version 2.4.0 is out', looks: 2 }]);
    const logs = await platform.db.prisma.taskLog.findMany({ select: { message: true } });
    expect(JSON.stringify(logs)).toContain('posted message m1 to #releases');
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });
});
