// The API against hostile or broken input: operations too big to run, requests a web page
// could forge, bad values, and a database that goes away. Everything a limit refuses must be
// refused before any SQL runs, quickly, and without the server's memory growing.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../server/src/api/limits.js';
import { createApi, hostAllowed, serveApi } from '../server/src/api/server.js';
import { createPool } from '../server/src/db/pool.js';
import { createPrisma, type Db } from '../server/src/db/prisma.js';
import { MAX_CONF_BYTES } from '../server/src/runs.js';
import { createTestPlatform, REPO_ROOT, type TestPlatform } from './support/platform.js';
import { closedPort } from './support/ports.js';
import { EXAMPLE_DAG_IDS } from './support/paths.js';

/** The DAGs of examples/dags (the maintenance DAGs included), which these tests deploy. */
const EXAMPLE_DAGS = EXAMPLE_DAG_IDS.length;

type Api = ReturnType<typeof createApi>;
interface Reply {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

const TRIGGER = `mutation ($input: TriggerDagRunInput!) { triggerDagRun(input: $input) { dagRun { id } } }`;
// What the dashboard will ask for (see server/src/api/limits.ts).
const DAG_LIST = `query { dags(first: 100) { pageInfo { hasNextPage endCursor } edges { node { id description schedule paused isActive fileName source
  tasks { id upstreamIds downstreamIds triggerRule retries timeoutMs }
  runs(first: 10) { edges { node { id runId runType state logicalDate queuedAt startedAt endedAt } } } } } } }`;
const RUN_PAGE = `query ($id: ID!) { dagRun(id: $id) { id dagId runId runType state logicalDate conf queuedAt startedAt endedAt
  dag { id description schedule } dagVersion { versionNumber bundleHash tasks { id upstreamIds downstreamIds } }
  taskInstances(first: 1000) { pageInfo { hasNextPage endCursor } edges { cursor node { id taskId mapIndex state tryNumber maxTries
    queuedAt startedAt endedAt nextTryAt returnValue tries { tryNumber state workerId startedAt endedAt error logs(last: 5) { edges { node { seq level message fields loggedAt } } } } } } } } }`;

/** `dagRun → dag → runs → dag → runs …`, `levels` times. */
function nestedRuns(levels: number): string {
  let inner = 'id conf';
  for (let i = 0; i < levels; i++) inner = `dag { runs { edges { node { ${inner} } } } }`;
  return `query ($id: ID!) { dagRun(id: $id) { ${inner} } }`;
}

function aliases(count: number): string {
  return `query ($id: ID!) { ${Array.from({ length: count }, (_, i) => `a${i}: dagRun(id: $id) { id }`).join(' ')} }`;
}

async function send(api: Api, init: RequestInit & { url?: string } = {}): Promise<Reply> {
  const started = performance.now();
  const response = await api.fetch(init.url ?? 'http://test/graphql', { method: 'POST', ...init });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
}

function post(api: Api, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Reply> {
  return send(api, { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
}

describe('API limits and HTTP safety', () => {
  let platform: TestPlatform;
  let prisma: Db;
  let api: Api;
  let statements: string[];
  let bigRunId: string;
  let doneRunId: string;

  beforeAll(async () => {
    platform = await createTestPlatform();
    await platform.deploy(path.join(REPO_ROOT, 'examples/dags'));
    await platform.startWorker();
    // Runs whose conf is ~1 MB each: what made nested queries exhaust the heap.
    const big = { blob: 'x'.repeat(1_000_000) };
    for (let i = 0; i < 5; i++) bigRunId = String(await platform.trigger('hello_world', big));
    doneRunId = String(await platform.trigger('hello_world'));
    for (const id of [Number(bigRunId), Number(doneRunId)]) expect(await platform.waitForRun(id)).toBe('success');
    statements = [];
    prisma = createPrisma(platform.db.url, { onQuery: (sql) => statements.push(sql) });
    api = createApi({ prisma, pool: platform.pool });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await platform?.close();
  });

  const runCount = () => platform.db.prisma.dagRun.count();

  /** Sends `request` and checks that it was refused with a 4xx quickly, without SQL, and without the heap or RSS growing. */
  async function expectRefusedCheaply(request: () => Promise<Reply>): Promise<Reply> {
    statements.length = 0;
    const before = process.memoryUsage();
    const reply = await request();
    const after = process.memoryUsage();
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(reply.ms).toBeLessThan(1000); // generous: a refusal takes milliseconds
    expect(statements).toEqual([]);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(32 * 2 ** 20);
    expect(after.rss - before.rss).toBeLessThan(64 * 2 ** 20);
    return reply;
  }

  describe('operation limits', () => {
    it('refuses a dagRun → dag → runs nesting six levels deep before running it', async () => {
      const reply = await expectRefusedCheaply(() => post(api, nestedRuns(6), { id: bigRunId }));
      expect(reply.status).toBe(400);
      expect(reply.body.errors[0]).toMatchObject({ message: `Query depth limit of ${LIMITS.maxDepth} exceeded, found 26.`, extensions: { code: 'QUERY_LIMIT_EXCEEDED' } });
      expect(reply.body.data).toBeUndefined();
    });

    it('refuses 500 aliases of dagRun(id) { id } before running them', async () => {
      const reply = await expectRefusedCheaply(() => post(api, aliases(500), { id: bigRunId }));
      expect(reply.status).toBe(400);
      expect(reply.body.errors[0]).toMatchObject({ message: `Token limit of ${LIMITS.maxTokens} exceeded.`, extensions: { code: 'QUERY_LIMIT_EXCEEDED' } });
    });

    it('refuses more aliases than the limit, and loads no conf for the aliases it allows', async () => {
      const refused = await expectRefusedCheaply(() => post(api, aliases(LIMITS.maxAliases + 1), { id: bigRunId }));
      expect(refused.body.errors[0]).toMatchObject({
        message: `Aliases limit of ${LIMITS.maxAliases} exceeded, found ${LIMITS.maxAliases + 1}.`,
        extensions: { code: 'QUERY_LIMIT_EXCEEDED' },
      });

      statements.length = 0;
      const before = process.memoryUsage().heapUsed;
      const allowed = await post(api, aliases(LIMITS.maxAliases), { id: bigRunId });
      expect(allowed.status).toBe(200);
      expect(Object.values(allowed.body.data)).toEqual(Array(LIMITS.maxAliases).fill({ id: bigRunId }));
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.join('\n')).not.toMatch(/conf/);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 2 ** 20);
    });

    it('refuses an operation one level deeper than the limit', async () => {
      const deep = `query ($id: ID!) { dagRun(id: $id) { dag { runs { edges { node { dag { runs { edges { node { dag { id } } } } } } } } } } }`;
      const reply = await expectRefusedCheaply(() => post(api, deep, { id: doneRunId }));
      expect(reply.body.errors[0].message).toBe(`Query depth limit of ${LIMITS.maxDepth} exceeded, found ${LIMITS.maxDepth + 1}.`);
      // One level less runs.
      const ok = await post(api, deep.replace('dag { id }', 'id'), { id: doneRunId });
      expect(ok.body.data.dagRun.dag.runs.edges.length).toBeGreaterThan(0);
    });

    it('refuses an operation whose estimated cost is over the limit, counting page sizes given as variables', async () => {
      const query = `query ($a: Int, $b: Int) { dags(first: $a) { edges { node { runs(first: $b) { edges { node { id } } } } } } }`;
      const reply = await expectRefusedCheaply(() => post(api, query, { a: 1000, b: 1000 }));
      expect(reply.status).toBe(400);
      expect(reply.body.errors[0]).toMatchObject({ message: expect.stringMatching(/^Query cost 3003001 exceeds the limit of 2000000/), extensions: { code: 'QUERY_LIMIT_EXCEEDED' } });
      // The same shape with small pages runs.
      const small = await post(api, query, { a: 20, b: 10 });
      expect(small.status).toBe(200);
      expect(small.body.data.dags.edges).toHaveLength(EXAMPLE_DAGS);
    });

    it('lets the dashboard list DAGs with their tasks and last runs', async () => {
      const reply = await post(api, DAG_LIST);
      expect(reply.status).toBe(200);
      expect(reply.body.errors).toBeUndefined();
      const helloWorld = reply.body.data.dags.edges.find((e: any) => e.node.id === 'hello_world').node;
      expect(helloWorld.tasks.map((t: any) => t.id)).toEqual(['make_hi', 'ready_hi', 'say_hi']);
      expect(helloWorld.runs.edges).toHaveLength(6);
    });

    it('lets the dashboard show a run with 1,000 task instances per page down to the tail of each try’s logs', async () => {
      const reply = await post(api, RUN_PAGE, { id: doneRunId });
      expect(reply.status).toBe(200);
      expect(reply.body.errors).toBeUndefined();
      const { edges } = reply.body.data.dagRun.taskInstances;
      expect(edges.map((e: any) => e.node.taskId)).toEqual(['make_hi', 'ready_hi', 'say_hi']);
      expect(edges[2].node.tries[0].logs.edges.map((e: any) => e.node)).toEqual([expect.objectContaining({ level: 'info', message: 'hi, ready to fly!' })]);
    });

    it('refuses a page bigger than the maximum, at the root and nested, rather than clamping it', async () => {
      const max = LIMITS.maxPageSize;
      const root = await post(api, `query ($n: Int) { dagRuns(first: $n) { edges { node { id } } } }`, { n: max + 1 });
      expect(root.body.errors[0]).toMatchObject({ message: `first is ${max + 1}; a page holds at most ${max} items`, extensions: { code: 'BAD_USER_INPUT' } });
      const nested = await post(api, `query ($id: ID!) { dagRun(id: $id) { taskInstances(last: ${max + 1}) { edges { node { id } } } } }`, { id: doneRunId });
      expect(nested.body.errors[0]).toMatchObject({ message: `last is ${max + 1}; a page holds at most ${max} items`, extensions: { code: 'BAD_USER_INPUT' } });
      const atMax = await post(api, `query ($n: Int) { dagRuns(first: $n) { edges { node { id } } } }`, { n: max });
      expect(atMax.body.data.dagRuns.edges).toHaveLength(6);
    });
  });

  describe('HTTP', () => {
    const mutation = `mutation { triggerDagRun(input: { dagId: "hello_world" }) { dagRun { id } } }`;

    it('runs operations only from application/json POSTs: forms, multipart, text and GET are refused', async () => {
      const runs = await runCount();
      const form = await send(api, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: mutation }).toString() });
      expect(form.status).toBe(415);
      expect(form.body.errors[0].message).toBe('Content-Type application/x-www-form-urlencoded is not accepted: send application/json');
      const multipart = new FormData();
      multipart.set('operations', JSON.stringify({ query: mutation }));
      multipart.set('map', '{}');
      expect((await send(api, { body: multipart })).status).toBe(415);
      expect((await send(api, { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) })).status).toBe(415);
      expect((await send(api, { headers: { 'content-type': 'application/graphql' }, body: mutation })).status).toBe(415);
      const getMutation = await send(api, { method: 'GET', url: `http://test/graphql?query=${encodeURIComponent(mutation)}` });
      expect(getMutation.status).toBe(405);
      const getQuery = await send(api, { method: 'GET', url: `http://test/graphql?query=${encodeURIComponent('{ __typename }')}` });
      expect(getQuery.status).toBe(405);
      expect(await runCount()).toBe(runs);
      // The same mutation as JSON runs.
      expect((await post(api, mutation)).body.data.triggerDagRun.dagRun.id).toMatch(/^\d+$/);
      expect(await runCount()).toBe(runs + 1);
    });

    it('refuses foreign origins and sends them no CORS headers', async () => {
      const runs = await runCount();
      const foreign = await post(api, mutation, undefined, { origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      expect(foreign.headers.get('access-control-allow-credentials')).toBeNull();
      const preflight = await send(api, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
      expect(await runCount()).toBe(runs);
      // The server's own origin needs no CORS and is served.
      expect((await post(api, '{ __typename }', undefined, { origin: 'http://test' })).status).toBe(200);
    });

    it('allows configured CORS origins, without credentials', async () => {
      const withCors = createApi({ prisma, pool: platform.pool }, { corsOrigins: ['https://dash.example'] });
      const preflight = await send(withCors, {
        method: 'OPTIONS',
        headers: { origin: 'https://dash.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://dash.example');
      expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
      const allowed = await post(withCors, '{ __typename }', undefined, { origin: 'https://dash.example' });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dash.example');
      const other = await post(withCors, '{ __typename }', undefined, { origin: 'https://evil.example' });
      expect(other.status).toBe(403);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses foreign Host headers when served on loopback (DNS rebinding)', async () => {
      const server = await serveApi({ prisma, pool: platform.pool }, { host: '127.0.0.1', port: 0 });
      try {
        const { port } = server.address() as AddressInfo;
        const request = (host: string) => rawPost(port, host, JSON.stringify({ query: '{ __typename }' }));
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
          expect({ host, ...(await request(host)) }).toMatchObject({ host, status: 200, body: { data: { __typename: 'Query' } } });
        }
        for (const host of [`evil.example:${port}`, 'evil.example', `localhost:${port + 1}`, `127.0.0.1`, `127.0.0.1:${port}@evil.example`]) {
          const reply = await request(host);
          expect({ host, status: reply.status }).toEqual({ host, status: 403 });
          if (reply.status === 403) expect(reply.body.errors[0].extensions.code).toBe('FORBIDDEN_HOST');
        }
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('accepts the configured host and allowedHosts when served elsewhere', () => {
      expect(hostAllowed('localhost:4000', { host: '127.0.0.1', port: 4000 })).toBe(true);
      expect(hostAllowed('updraft.internal:4000', { host: '127.0.0.1', port: 4000 })).toBe(false);
      expect(hostAllowed('updraft.internal:4000', { host: '127.0.0.1', port: 4000, allowedHosts: ['updraft.internal'] })).toBe(true);
      expect(hostAllowed('10.0.0.5:4000', { host: '10.0.0.5', port: 4000 })).toBe(true);
      expect(hostAllowed('localhost:4000', { host: '10.0.0.5', port: 4000 })).toBe(false);
      expect(hostAllowed('evil.example:4000', { host: '10.0.0.5', port: 4000 })).toBe(false);
      // Every interface: any IP (an IP cannot be rebound) or loopback name, not other names.
      expect(hostAllowed('192.168.1.20:4000', { host: '0.0.0.0', port: 4000 })).toBe(true);
      expect(hostAllowed('[fe80::1]:4000', { host: '::', port: 4000 })).toBe(true);
      expect(hostAllowed('evil.example:4000', { host: '0.0.0.0', port: 4000 })).toBe(false);
      // A reverse proxy's name: any port, or the one given.
      expect(hostAllowed('updraft.example.com', { host: '0.0.0.0', port: 4000, allowedHosts: ['updraft.example.com'] })).toBe(true);
      expect(hostAllowed('updraft.example.com:8443', { host: '0.0.0.0', port: 4000, allowedHosts: ['updraft.example.com:443'] })).toBe(false);
      expect(hostAllowed('updraft.example.com:443', { host: '0.0.0.0', port: 4000, allowedHosts: ['updraft.example.com:443'] })).toBe(true);
      expect(hostAllowed(undefined, { host: '127.0.0.1', port: 4000 })).toBe(false);
    });
  });

  describe('bad input is BAD_USER_INPUT, with the reason', () => {
    const RUN = `query ($id: ID!) { dagRun(id: $id) { id } }`;

    it('refuses run ids that are not plain integers in range', async () => {
      for (const id of ['1e3', '0x10', ' 7', '7 ', '+7', '07', '0', '-1', 'abc', '']) {
        const reply = await post(api, RUN, { id });
        expect(reply.body.errors[0]).toEqual(
          expect.objectContaining({ message: `${JSON.stringify(id)} is not a DagRun id: ids are positive integers`, extensions: { code: 'BAD_USER_INPUT' } }),
        );
      }
      for (const id of ['99999999999999999999', '2147483648']) {
        const reply = await post(api, RUN, { id });
        expect(reply.body.errors[0]).toMatchObject({ message: `"${id}" is not a DagRun id: ids are at most 2147483647`, extensions: { code: 'BAD_USER_INPUT' } });
      }
      expect((await post(api, RUN, { id: '2147483647' })).body.errors[0].extensions.code).toBe('NOT_FOUND');
    });

    it('refuses a task id filter that cannot name a task', async () => {
      const query = `query ($taskId: String) { dagRun(id: "1") { taskInstances(taskId: $taskId) { edges { node { id } } } } }`;
      const nul = await post(api, query, { taskId: 'a\u0000b' });
      expect(nul.body.errors[0]).toMatchObject({ message: '"a\\u0000b" is not a task id: it contains a NUL character (\\u0000)', extensions: { code: 'BAD_USER_INPUT' } });
      const long = await post(api, query, { taskId: 'x'.repeat(251) });
      expect(long.body.errors[0]).toMatchObject({ message: expect.stringContaining('is not a task id: task ids have 1 to 250 characters'), extensions: { code: 'BAD_USER_INPUT' } });
    });

    it('refuses confs PostgreSQL cannot store or that are too big or deep, before touching the database', async () => {
      const runs = await runCount();
      const trigger = (conf: unknown, dagId = 'hello_world') => post(api, TRIGGER, { input: { dagId, conf } });
      const cases: Array<[unknown, string]> = [
        [{ note: 'a\u0000b' }, 'conf.note contains a NUL character (\\u0000), which PostgreSQL cannot store'],
        [{ ['k\u0000']: 1 }, 'a key in conf contains a NUL character (\\u0000), which PostgreSQL cannot store'],
        [{ list: ['ok', '\uD800'] }, 'conf.list[1] contains a lone UTF-16 surrogate, which PostgreSQL cannot store'],
        [{ blob: 'x'.repeat(MAX_CONF_BYTES) }, `conf is ${MAX_CONF_BYTES + 11} bytes as JSON; the limit is ${MAX_CONF_BYTES} (1 MiB)`],
        [nest(70), `conf is nested more than 64 levels deep (at ${`conf${'.a'.repeat(64)}`.slice(0, 80)}…)`],
        [[1, 2], 'conf must be a JSON object, got an array'],
        ['text', 'conf must be a JSON object, got "text"'],
      ];
      for (const [conf, message] of cases) {
        const reply = await trigger(conf);
        expect(reply.body.errors?.[0]).toEqual(expect.objectContaining({ message, extensions: { code: 'BAD_USER_INPUT' } }));
      }
      const dagId = await trigger({}, 'hello\u0000world');
      expect(dagId.body.errors[0]).toMatchObject({ message: '"hello\\u0000world" is not a DAG id: it contains a NUL character (\\u0000)', extensions: { code: 'BAD_USER_INPUT' } });
      expect(await runCount()).toBe(runs);
    });

    it('refuses a conf nested thousands of levels deep with a 400, as a variable or inline', async () => {
      const runs = await runCount();
      // Written out by hand: JSON.stringify itself recurses too deep for this.
      const conf = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const body = `{"query":${JSON.stringify(TRIGGER)},"variables":{"input":{"dagId":"hello_world","conf":${conf}}}}`;
      const variable = await send(api, { headers: { 'content-type': 'application/json' }, body });
      expect(variable.status).toBe(400);
      expect(variable.body.errors[0]).toMatchObject({ message: `variables are nested more than ${LIMITS.maxJsonDepth} levels deep`, extensions: { code: 'BAD_USER_INPUT' } });
      const literal = `mutation { triggerDagRun(input: { dagId: "hello_world", conf: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)} }) { dagRun { id } } }`;
      const inline = await expectRefusedCheaply(() => post(api, literal));
      expect(inline.body.errors[0].extensions.code).toBe('QUERY_LIMIT_EXCEEDED');
      expect(await runCount()).toBe(runs);
    });

    it('answers a JSON body nested 100,000 levels with a clean 4xx and keeps serving', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      for (const body of [
        `{"query":"{ __typename }","variables":{"v":${deep}}}`,
        `{"query":"{ __typename }","extensions":{"e":${deep}}}`,
        `{"query":"{ __typename }","other":${deep}}`,
        deep,
      ]) {
        const reply = await expectRefusedCheaply(() => send(api, { headers: { 'content-type': 'application/json' }, body }));
        expect(reply.body.errors[0].message).not.toMatch(/call stack|Unexpected error/i);
      }
      expect((await post(api, '{ __typename }')).body.data).toEqual({ __typename: 'Query' });
    });

    it('refuses request bodies over the size limit', async () => {
      const reply = await send(api, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }', variables: { v: 'x'.repeat(LIMITS.maxRequestBytes) } }) });
      expect(reply.status).toBe(413);
    });
  });

  describe('database unreachable', () => {
    it('answers 503 SERVICE_UNAVAILABLE while PostgreSQL is down, and recovers when it is back', async () => {
      const proxy = await startProxy(new URL(platform.db.url));
      const url = new URL(platform.db.url);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const downPrisma = createPrisma(url.toString());
      const downPool = createPool(url.toString(), { onError: () => undefined });
      const flaky = createApi({ prisma: downPrisma, pool: downPool });
      const listDags = () => post(flaky, `{ dags(first: 20) { edges { node { id } } } }`);
      try {
        expect((await listDags()).body.data.dags.edges).toHaveLength(EXAMPLE_DAGS);

        await proxy.stop(); // PostgreSQL "goes down": connections drop, new ones are refused
        const unavailable = { message: 'The metadata database is unreachable; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } };
        for (const reply of [await listDags(), await post(flaky, `{ dagRun(id: "${doneRunId}") { id } }`), await post(flaky, TRIGGER, { input: { dagId: 'hello_world' } })]) {
          expect(reply.status).toBe(503);
          expect(reply.body.errors).toEqual([expect.objectContaining(unavailable)]);
        }

        await proxy.start(); // and comes back
        expect((await listDags()).body.data.dags.edges).toHaveLength(EXAMPLE_DAGS);
      } finally {
        await downPrisma.$disconnect();
        await downPool.end();
        await proxy.stop();
      }
    });

    it('does not mistake an error quoting the caller’s input for a lost database', async () => {
      const reply = await post(api, `{ dags(first: "connect ECONNREFUSED; Connection terminated") { edges { node { id } } } }`);
      expect(reply.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      const missing = await post(api, `{ dag(id: "Connection terminated") { id } }`);
      expect(missing.body.errors[0].extensions.code).toBe('NOT_FOUND');
    });

    it('answers 503 when the database was never reachable (a closed port)', async () => {
      const port = await closedPort();
      const url = new URL(platform.db.url);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      const downPrisma = createPrisma(url.toString());
      const downPool = createPool(url.toString(), { onError: () => undefined });
      try {
        const down = createApi({ prisma: downPrisma, pool: downPool });
        for (const reply of [await post(down, `{ workers(first: 5) { edges { node { id } } } }`), await post(down, TRIGGER, { input: { dagId: 'hello_world' } })]) {
          expect(reply.status).toBe(503);
          expect(reply.body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
        }
      } finally {
        await downPrisma.$disconnect();
        await downPool.end();
      }
    });
  });
});

function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

function rawPost(port: number, host: string, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A TCP proxy to PostgreSQL that can be stopped (dropping every connection) and started again on the same port. */
async function startProxy(target: URL): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const start = async () => {
    const s = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  await start();
  return {
    get port() {
      return port;
    },
    async stop() {
      const s = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      if (s) await new Promise((resolve) => s.close(resolve));
    },
    start,
  };
}
