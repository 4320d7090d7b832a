// The HTTP operator and sensor against a local node:http server started here: JSON bodies and
// headers, retries on 503/429 that wait what Retry-After says, unexpected statuses, a peer that
// never answers or trickles, a huge response, a sensor waiting for a JSON value, bad URLs.
import fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, type TestPlatform } from '../../../test/support/platform.js';
import { returnValues, storedTries } from '../../../test/support/tries.js';
import { retryAfterMs } from '../src/request.js';

const PASSWORD = 'http-Pass-word-7788';

const DAGS = {
  'http_dags.ts': `
import { context, dag, task } from '@updraft/sdk';
import { httpRequest, httpSensor } from '@updraft/plugin-http';

const echoParams = task('echo_params', () => ({
  url: String(context().conf.base) + '/echo',
  method: 'POST' as const,
  headers: { 'X-Trace': 'abc' },
  query: { page: 2 },
  json: { hello: 'world', n: [1, 2, 3] },
}));

export const requests = dag({ id: 'requests' }, () => {
  httpRequest('echo')(echoParams());
  httpRequest('flaky')({ connection: 'local_api', url: '/flaky', retryDelay: '50ms' });
  httpRequest({ id: 'not_found', retries: 0 })({ connection: 'local_api', url: 'missing' });
  httpRequest('created')({ connection: 'local_api', url: '/status/201', method: 'PUT', body: 'plain', expectStatus: [200, 201], output: 'response' });
  httpRequest('auth')({ connection: 'local_api', url: '/auth' });
});

export const hostile = dag({ id: 'hostile' }, () => {
  httpRequest('silent')({ connection: 'local_api', url: '/silent', timeout: '500ms', maxAttempts: 2, retryDelay: '10ms' });
  httpRequest('trickle')({ connection: 'local_api', url: '/trickle', timeout: '700ms', maxAttempts: 1 });
  httpRequest('huge')({ connection: 'local_api', url: '/huge', maxResponseBytes: 100000 });
  httpRequest('always_503')({ connection: 'local_api', url: '/always503', maxAttempts: 3, retryDelay: '10ms' });
});

export const waiting = dag({ id: 'waiting' }, () => {
  httpSensor({ id: 'job_done', interval: '100ms', timeout: '20s' })({ connection: 'local_api', url: '/job', until: { json: { path: 'job.state', equals: 'done' } } });
  httpSensor({ id: 'ready', mode: 'reschedule', interval: '100ms', timeout: '20s' })({ connection: 'local_api', url: '/ready', until: { status: 204 } });
});
`,
};

let platform: TestPlatform & { dagsDir: string };
let server: Server;
let base: string;
const seen: Array<{ path: string; at: number }> = [];
const counters = new Map<string, number>();

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url!, 'http://x');
  const n = (counters.get(url.pathname) ?? 0) + 1;
  counters.set(url.pathname, n);
  seen.push({ path: url.pathname, at: Date.now() });
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    switch (url.pathname) {
      case '/echo':
        return json(200, { method: req.method, trace: req.headers['x-trace'], contentType: req.headers['content-type'], query: url.search, body: JSON.parse(body) });
      case '/flaky':
        if (n === 1) return json(503, { error: 'busy' }, { 'retry-after': '1' });
        if (n === 2) return json(429, { error: 'slow down' }, { 'retry-after': new Date(Date.now() + 1500).toUTCString() });
        return json(200, { ok: true, attempts: n });
      case '/status/201':
        return json(201, { got: body, method: req.method });
      case '/auth': {
        const [user, pass] = Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64').toString().split(':');
        return pass === PASSWORD ? json(200, { user }) : json(401, { error: 'who are you' });
      }
      case '/silent':
        return; // never answers
      case '/trickle':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('.');
        const timer = setInterval(() => res.write('.'), 100);
        res.on('close', () => clearInterval(timer));
        return;
      case '/huge':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ blob: 'x'.repeat(5_000_000) }));
      case '/always503':
        return json(503, { error: 'down' });
      case '/job':
        return json(200, { job: { state: n < 3 ? 'running' : 'done', result: 7 } });
      case '/ready':
        res.writeHead(n < 3 ? 503 : 204);
        return res.end();
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end(`no ${url.pathname} here`);
    }
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.UPDRAFT_CONN_LOCAL_API = `http://api_user:${PASSWORD}@127.0.0.1:${(server.address() as AddressInfo).port}`;
  platform = await platformRunning(DAGS, 8);
});
afterAll(async () => {
  delete process.env.UPDRAFT_CONN_LOCAL_API;
  await platform?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('@updraft/plugin-http', () => {
  it('sends JSON with headers, retries 503 and 429 after Retry-After, checks statuses, and publishes the body', async () => {
    const runId = await platform.trigger('requests', { base });
    expect(await platform.waitForRun(runId, 30_000)).toBe('failed'); // not_found fails, the others succeed
    const values = await returnValues(platform, runId);
    expect(values.echo).toEqual({ method: 'POST', trace: 'abc', contentType: 'application/json', query: '?page=2', body: { hello: 'world', n: [1, 2, 3] } });
    expect(values.flaky).toEqual({ ok: true, attempts: 3 });
    expect(values.created).toMatchObject({ status: 201, body: { got: 'plain', method: 'PUT' } });
    expect(values.auth).toEqual({ user: 'api_user' });

    // Retry-After: 1 second, then an HTTP date ~1.5 s ahead (whole seconds: at least ~0.5 s).
    const flaky = seen.filter((s) => s.path === '/flaky').map((s) => s.at);
    expect(flaky).toHaveLength(3);
    expect(flaky[1]! - flaky[0]!).toBeGreaterThanOrEqual(950);
    expect(flaky[2]! - flaky[1]!).toBeGreaterThanOrEqual(400);

    const [notFound] = await storedTries(platform, runId, 'not_found');
    expect(notFound!.error).toMatchObject({ name: 'HttpStatusError' });
    expect(notFound!.error!.message).toMatch(/^task "not_found": GET http:\/\/127\.0\.0\.1:\d+\/missing answered 404, expected a 2xx status: no \/missing here$/);

    const [auth] = await storedTries(platform, runId, 'auth');
    expect(JSON.stringify(auth)).not.toContain(PASSWORD);
  });

  it('bounds a silent or trickling peer by the timeout, a huge body by maxResponseBytes, and gives up on 503 after maxAttempts', async () => {
    const started = Date.now();
    const runId = await platform.trigger('hostile');
    expect(await platform.waitForRun(runId, 30_000)).toBe('failed');
    expect(Date.now() - started).toBeLessThan(15_000);
    const errors = Object.fromEntries(
      await Promise.all(['silent', 'trickle', 'huge', 'always_503'].map(async (id) => [id, (await storedTries(platform, runId, id))[0]!.error] as const)),
    );
    expect(errors.silent).toMatchObject({ name: 'HttpTimeout', message: expect.stringMatching(/\/silent did not complete within 500 ms$/) });
    expect(errors.trickle).toMatchObject({ name: 'HttpTimeout' });
    expect(errors.huge).toMatchObject({ name: 'ResponseTooLarge', message: expect.stringContaining('more than maxResponseBytes (100000)') });
    expect(errors.always_503).toMatchObject({ name: 'HttpStatusError', message: expect.stringContaining('answered 503') });
    expect(seen.filter((s) => s.path === '/silent')).toHaveLength(2);
    expect(seen.filter((s) => s.path === '/always503')).toHaveLength(3);
  });

  it('senses until a JSON value or a status, in poke and reschedule mode, and publishes the body that matched', async () => {
    const runId = await platform.trigger('waiting');
    expect(await platform.waitForRun(runId, 30_000)).toBe('success');
    const values = await returnValues(platform, runId);
    expect(values.job_done).toEqual({ job: { state: 'done', result: 7 } });
    expect(values.ready).toBe(true);
    expect(counters.get('/job')).toBe(3);
    expect(counters.get('/ready')).toBe(3);
  });

  it('refuses a malformed URL at deploy, naming the task and the field', async () => {
    const dir = path.join(platform.dagsDir, '..', `bad-http-${process.pid}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'bad.ts'),
      `import { dag } from '@updraft/sdk';\nimport { httpRequest } from '@updraft/plugin-http';\nexport default dag({ id: 'bad_url' }, () => { httpRequest('fetch')({ url: 'htp:/nowhere', method: 'FETCH' } as never); });\n`,
    );
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors).toHaveLength(1);
    expect(importErrors[0]!.message).toContain('Invalid params of task "fetch" (operator http_request): method: ');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
