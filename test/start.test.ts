import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLine, type RunningUpdraft, spawnUntilUp, updraft } from './support/cli.js';
import { subscribe, type SseSubscription } from './support/sse.js';
import { EXAMPLE_DAG_IDS } from './support/paths.js';

/** `updraft start` as `npm start` runs it, on its own embedded PostgreSQL under a fresh home. */
function start(home: string, args: string[] = []): Promise<RunningUpdraft> {
  const { DATABASE_URL: _ignored, UPDRAFT_SECRET_KEY: _none, ...inherited } = process.env;
  // Up once the open-API banner is out.
  return spawnUntilUp(['start', '--dags', 'examples/dags', '--port', '0', ...args], { ...inherited, UPDRAFT_HOME: home }, /GraphQL at (\S+)[^]*└─*┘\n/);
}

async function graphql(url: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data: any; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

/** The status of a `{ __typename }` query sent with the given Host header (fetch cannot set Host). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  const { port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'POST', headers: { host: `${host}:${port}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('updraft start', () => {
  let home: string;
  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-start-'));
    await fs.chmod(home, 0o755); // as root, the embedded PostgreSQL runs as "postgres" and must enter it
  });
  afterAll(() => fs.rm(home, { recursive: true, force: true }));

  it('serves the example DAGs, runs hello_world, and keeps DAGs and runs across a restart', async () => {
    const first = await start(home);
    expect(first.output()).toContain('The API is OPEN: anyone on this machine can use it as an admin, without a token.');
    // Without UPDRAFT_SECRET_KEY, the home gets a key of its own, readable by its owner only.
    const keyFile = path.join(home, 'secret.key');
    expect(first.output()).toContain(`Generated the secret key that encrypts secret variables and connection passwords: ${keyFile}`);
    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
    await graphql(first.url, `mutation { upsertConnection(input: { id: "kept", type: "http", password: "p4ssw0rd", extra: { region: "eu" } }) { created } }`);
    const triggeredAt = Date.now();
    const { triggerDagRun } = await graphql(first.url, `mutation { triggerDagRun(input: { dagId: "hello_world", conf: {} }) { dagRun { id state } } }`);
    const id = triggerDagRun.dagRun.id;
    let run: any;
    do {
      run = (await graphql(first.url, `query ($id: ID!) { dagRun(id: $id) { state taskInstances(first: 100) { edges { node { taskId returnValue } } } } }`, { id })).dagRun;
    } while (run.state === 'running' && Date.now() - triggeredAt < 30_000);
    // How fast is measured by `npm run bench` (BENCHMARKS.md), not here.
    expect(run.state).toBe('success');
    expect(run.taskInstances.edges.find((e: any) => e.node.taskId === 'ready_hi').node.returnValue).toContain('hi');

    // The CLI finds the running platform's database through the home folder and uses its worker.
    const cli = await updraft(['dags', 'trigger', 'hello_world', '--wait'], { UPDRAFT_HOME: home, DATABASE_URL: undefined });
    expect(lastLine(cli.stdout)).toBe('success');
    expect(cli.stderr).not.toContain('No worker is running');
    expect(cli.code).toBe(0);
    const mapped = await updraft(['dags', 'trigger', 'mapping_fanout', '--wait'], { UPDRAFT_HOME: home, DATABASE_URL: undefined });
    expect(lastLine(mapped.stdout)).toBe('success');
    expect(mapped.code).toBe(0);

    const port = new URL(first.url).port;
    const clash = await updraft(['start', '--port', port], { UPDRAFT_HOME: home, DATABASE_URL: undefined });
    expect(clash.stderr).toContain(`updraft: Port ${port} on 127.0.0.1 is in use (another \`updraft start\`?); choose another with --port`);
    expect(clash.code).toBe(1);
    expect(await first.stop()).toBe(0);

    // With nothing running, a CLI command starts the embedded database for its own duration.
    const list = await updraft(['dags', 'list'], { UPDRAFT_HOME: home, DATABASE_URL: undefined });
    expect(list.stdout).toMatch(/hello_world\s+hello_world\.ts/);
    // The maintenance DAGs arrive paused.
    for (const id of ['maintenance_db_cleanup', 'maintenance_log_cleanup', 'maintenance_orphan_sweep']) {
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+maintenance\\.ts\\s+@(daily|hourly)\\s+paused\\s+1`));
    }
    expect(list.code).toBe(0);

    const second = await start(home, ['--allowed-host', 'updraft.internal']);
    let live: SseSubscription | undefined;
    try {
      // Live updates over SSE; an open stream does not hold up the stop, which completes it.
      live = await subscribe(second.url, `subscription ($id: ID!) { dagRunUpdated(id: $id) { resync dagRun { state } } }`, { id });
      expect((await live.next())!.data).toEqual({ dagRunUpdated: { resync: true, dagRun: { state: 'success' } } });
      // The same key, found again: what the first start encrypted opens.
      expect(second.output()).not.toContain('Generated the secret key');
      expect((await graphql(second.url, `{ connection(id: "kept") { hasPassword extra } }`)).connection).toEqual({ hasPassword: true, extra: { region: 'eu' } });
      const data = await graphql(second.url, `{ dags(first: 20) { edges { node { id } } } dagRun(id: "${id}") { state dagId } }`);
      expect(data.dags.edges.map((e: any) => e.node.id)).toEqual(EXAMPLE_DAG_IDS);
      expect(data.dagRun).toEqual({ state: 'success', dagId: 'hello_world' });
      // One port serves the dashboard, the API and the webhooks, each at its own paths.
      const page = await fetch(new URL('/', second.url));
      expect([page.status, page.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
      const hook = await fetch(new URL('/api/dags/hello_world/trigger', second.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(hook.status).toBe(200);
      expect(await hook.json()).toEqual({ dagId: 'hello_world', dagRunId: expect.any(Number) });
      // DNS rebinding: only loopback names and the --allowed-host name reach the API.
      expect(await statusWithHost(second.url, 'updraft.internal')).toBe(200);
      expect(await statusWithHost(second.url, 'attacker.example')).toBe(403);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    await live.completed;
  }, 180_000); // two starts and four CLI processes: slow on a loaded machine
});
