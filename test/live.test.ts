// Live updates end to end: a real HTTP server (serveApi), GraphQL subscriptions over SSE read
// by Node's fetch, fed by PostgreSQL LISTEN/NOTIFY from a real worker.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../server/src/api/schema/index.js';
import { serveApi } from '../server/src/api/server.js';
import { deleteDag } from '../server/src/dags/delete.js';
import { inTransaction } from '../server/src/db/transaction.js';
import { cancelDagRun, clearTaskInstances, markTaskInstances } from '../server/src/executor/interventions.js';
import { recoverLostTries } from '../server/src/executor/recovery.js';
import { LISTENER_APPLICATION_NAME, LiveUpdates } from '../server/src/live/live-updates.js';
import { createApiToken } from '../server/src/tokens.js';
import { UPDRAFT_BIN } from './support/cli.js';
import { createTestPlatform, dagFolder, graphql, REPO_ROOT, TEST_SCRATCH, type TestPlatform } from './support/platform.js';
import { subscribe, type SseResult } from './support/sse.js';

const WAIT_FOR = `
import fs from 'node:fs';
import { connection, context, dag, task } from '@updraft/sdk';
const waitFor = async (file: unknown) => { while (!fs.existsSync(String(file))) await new Promise((r) => setTimeout(r, 20)); };
`;

const DAGS = {
  'pair.ts': `${WAIT_FOR}
const first = task('first', async () => { await waitFor(context().conf.a); return 1; });
const second = task('second', async (n: number) => { await waitFor(context().conf.b); return n + 1; });
export default dag({ id: 'pair' }, () => { second(first()); });
`,
  'talk.ts': `${WAIT_FOR}
const talk = task('talk', async () => {
  context().log.info('before the gate', { step: 1 });
  console.log('printed too');
  await waitFor(context().conf.gate);
  context().log.info('after the gate');
  return 'done';
});
export default dag({ id: 'talk' }, () => { talk(); });
`,
  'secretive.ts': `${WAIT_FOR}
const secretive = task('secretive', async () => {
  const stored = await connection('live_stored');
  const fromEnv = await connection('live_env');
  context().log.info('stored password ' + stored.password, { password: stored.password, note: 'env ' + fromEnv.password });
  console.log('env password', fromEnv.password, 'in a URI', 'postgres://u:' + encodeURIComponent(fromEnv.password!) + '@h/db');
  await waitFor(context().conf.gate);
  context().log.info('after the gate: ' + stored.password + ' / ' + fromEnv.password);
});
export default dag({ id: 'secretive' }, () => { secretive(); });
`,
  'quick.ts': `import { dag, task } from '@updraft/sdk';
export default dag({ id: 'quick' }, () => { task('one', () => 1)(); });
`,
  'forever.ts': `${WAIT_FOR}
const forever = task('forever', async () => {
  for (let i = 0; i < 3; i++) context().log.info('still here ' + i);
  await waitFor(context().conf.gate);
});
export default dag({ id: 'forever' }, () => { forever(); });
`,
};

const RUN_UPDATES = `subscription ($id: ID!) { dagRunUpdated(id: $id) { resync dagRun { id state } taskInstances { id taskId mapIndex state tryNumber } } }`;
const LOG_LINES = `subscription ($ti: ID, $try: ID, $after: Int) {
  taskLogLines(taskInstanceId: $ti, tryId: $try, afterSeq: $after) { resync tryEnded try { id tryNumber state } lines { seq level message fields } }
}`;
const DAG_LIST = `subscription { dagsChanged { resync importErrorsChanged dags { id paused isActive } } }`;
const DAG_RUNS = `subscription ($dagId: ID!) { dagRunsChanged(dagId: $dagId) { resync dagRuns { id state dag { id } } } }`;

describe('live updates over SSE', () => {
  let platform: TestPlatform;
  let live: LiveUpdates;
  let server: Server;
  let url: string;
  const gates = path.join(TEST_SCRATCH, 'gates', randomBytes(6).toString('hex'));
  const gate = (name: string) => path.join(gates, name);
  const open = (name: string) => fs.writeFile(gate(name), '');

  beforeAll(async () => {
    await fs.mkdir(gates, { recursive: true });
    platform = await createTestPlatform();
    expect((await platform.deploy(await dagFolder(DAGS))).importErrors).toEqual([]);
    live = new LiveUpdates({ databaseUrl: platform.db.url, maxSubscriptions: 40, maxSubscriptionsPerClient: 30, reconnectMs: 50, onWarning: () => undefined });
    server = await serveApi({ prisma: platform.db.prisma, pool: platform.pool, live }, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    await live?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await platform?.close();
    await fs.rm(gates, { recursive: true, force: true });
  });

  async function listenerBackends(): Promise<number[]> {
    const rows = await platform.db.prisma.$queryRaw<Array<{ pid: number }>>`
      SELECT pid FROM pg_stat_activity WHERE application_name = ${LISTENER_APPLICATION_NAME} AND datname = current_database()`;
    return rows.map((r) => r.pid);
  }

  async function waitUntil(what: string, test: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await test())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const instance = (runId: number, taskId: string) => platform.db.prisma.taskInstance.findFirstOrThrow({ where: { dagRunId: runId, taskId } });

  it("streams a run's task instances as they go queued → running → success, and the run's end", async () => {
    const runId = await platform.trigger('pair', { a: gate('pair-a'), b: gate('pair-b') });
    const first = await platform.startWorker(1);
    await waitUntil('first runs', async () => (await instance(runId, 'first')).state === 'running');

    const sub = await subscribe(url, RUN_UPDATES, { id: String(runId) });
    expect(sub.status).toBe(200);
    const opening = (await sub.next())!;
    expect(opening.data.dagRunUpdated).toEqual({ resync: true, dagRun: { id: String(runId), state: 'running' }, taskInstances: [] });

    // The worker stops taking jobs but lets `first` finish: `second` then waits, queued.
    const stopped = first.stop();
    await open('pair-a');
    await stopped;
    const seen: Array<[string, string]> = [];
    const record = (r: SseResult) => {
      for (const ti of r.data.dagRunUpdated.taskInstances) seen.push([ti.taskId, ti.state]);
      return r;
    };
    await sub.until((r) => record(r).data.dagRunUpdated.taskInstances.some((ti: any) => ti.taskId === 'second' && ti.state === 'queued'));
    await new Promise((r) => setTimeout(r, 300));
    const second = await platform.startWorker(1);
    await sub.until((r) => record(r).data.dagRunUpdated.taskInstances.some((ti: any) => ti.taskId === 'second' && ti.state === 'running'));
    await open('pair-b');
    const last = await sub.until((r) => record(r).data.dagRunUpdated.dagRun.state !== 'running');
    expect(last.data.dagRunUpdated.dagRun.state).toBe('success');
    expect(last.data.dagRunUpdated.taskInstances).toEqual([expect.objectContaining({ taskId: 'second', mapIndex: -1, state: 'success', tryNumber: 1 })]);
    expect(seen.filter(([task]) => task === 'second').map(([, state]) => state)).toEqual(['queued', 'running', 'success']);
    expect(seen.filter(([task]) => task === 'first').map(([, state]) => state)).toEqual(['success']);
    sub.close();
    await second.stop();
  });

  it("streams a running try's log lines before the try ends, then ends with it", async () => {
    const worker = await platform.startWorker(1);
    const runId = await platform.trigger('talk', { gate: gate('talk') });
    const ti = await instance(runId, 'talk');
    // Subscribing by task instance before it started follows its first try.
    const sub = await subscribe(url, LOG_LINES, { ti: String(ti.id) });
    const early = await sub.until((r) => r.data.taskLogLines.lines.length > 0);
    // Received while the try still waits for its gate: written while it runs.
    const running = await platform.db.prisma.taskTry.findFirstOrThrow({ where: { taskInstanceId: ti.id } });
    expect(running.state).toBe('running');
    const lines = [...early.data.taskLogLines.lines];
    if (lines.length < 2) lines.push(...(await sub.until((r) => r.data.taskLogLines.lines.length > 0)).data.taskLogLines.lines);
    expect(lines).toEqual([
      { seq: 0, level: 'info', message: 'before the gate', fields: { step: 1 } },
      { seq: 1, level: 'info', message: 'printed too', fields: null },
    ]);
    expect(early.data.taskLogLines).toMatchObject({ tryEnded: false, resync: false, try: { id: String(running.id), tryNumber: 1, state: 'running' } });

    await open('talk');
    const rest: SseResult[] = [];
    for (let r = await sub.next(); r !== null; r = await sub.next()) rest.push(r);
    await sub.completed;
    expect(rest.flatMap((r) => r.data.taskLogLines.lines)).toEqual([{ seq: 2, level: 'info', message: 'after the gate', fields: null }]);
    expect(rest.at(-1)!.data.taskLogLines).toMatchObject({ tryEnded: true, try: { state: 'success' } });
    expect(await platform.waitForRun(runId)).toBe('success');

    // A finished try: its lines after `afterSeq`, then the end.
    const replay = await subscribe(url, LOG_LINES, { try: String(running.id), after: 0 });
    const results: SseResult[] = [];
    for (let r = await replay.next(); r !== null; r = await replay.next()) results.push(r);
    expect(results.flatMap((r) => r.data.taskLogLines.lines.map((l: any) => l.seq))).toEqual([1, 2]);
    expect(results.at(-1)!.data.taskLogLines.tryEnded).toBe(true);
    await worker.stop();
  });

  it('streams *** for connection passwords (stored encrypted, and from UPDRAFT_CONN_<ID>), never the passwords', async () => {
    const storedPassword = 'live-Stored/Pass@123';
    const envPassword = 'live-Env-Pass-456';
    await graphql(platform, `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created } }`, {
      input: { id: 'live_stored', type: 'postgres', host: 'db.example', login: 'etl', password: storedPassword },
    });
    const worker = await platform.startWorker(1, { connectionEnv: { UPDRAFT_CONN_LIVE_ENV: `postgres://env_user:${encodeURIComponent(envPassword)}@env-host.example/envdb` } });
    const runId = await platform.trigger('secretive', { gate: gate('secretive') });
    const ti = await instance(runId, 'secretive');
    const sub = await subscribe(url, LOG_LINES, { ti: String(ti.id) });
    const lines: Array<{ seq: number; message: string; fields: unknown }> = [];
    while (lines.length < 2) lines.push(...(await sub.until((r) => r.data.taskLogLines.lines.length > 0)).data.taskLogLines.lines);
    // Received while the try runs (it waits for its gate).
    expect((await platform.db.prisma.taskTry.findFirstOrThrow({ where: { taskInstanceId: ti.id } })).state).toBe('running');
    await open('secretive');
    for (let r = await sub.next(); r !== null; r = await sub.next()) lines.push(...r.data.taskLogLines.lines);
    expect(lines.map((l) => [l.message, l.fields])).toEqual([
      ['stored password ***', { password: '***', note: 'env ***' }],
      ['env password *** in a URI postgres://u:***@h/db', null],
      ['after the gate: *** / ***', null],
    ]);
    const stored = await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstanceId: ti.id } }, orderBy: { seq: 'asc' } });
    expect(stored.map((l) => [l.message, l.fields])).toEqual(lines.map((l) => [l.message, l.fields]));
    for (const text of [JSON.stringify(sub.results), JSON.stringify(stored, (_key, value) => (typeof value === 'bigint' ? String(value) : value))]) {
      for (const secret of [storedPassword, envPassword, encodeURIComponent(storedPassword), encodeURIComponent(envPassword)]) expect(text).not.toContain(secret);
    }
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
  });

  it("keeps a try's lines up to the last batch when its worker dies", async () => {
    const runId = await platform.trigger('forever', { gate: gate('never') });
    const child = spawn(process.execPath, [UPDRAFT_BIN, 'worker', '--concurrency', '1'], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: platform.db.url }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const ti = await instance(runId, 'forever');
      const sub = await subscribe(url, LOG_LINES, { ti: String(ti.id) });
      const seqs: number[] = [];
      while (seqs.length < 3) seqs.push(...(await sub.next(30_000))!.data.taskLogLines.lines.map((l: any) => l.seq));
      expect(seqs).toEqual([0, 1, 2]);
      child.kill('SIGKILL');
      await exited;
      // Its heartbeat stops; recovery ends the try as WorkerLost, and the stream ends with it.
      await new Promise((r) => setTimeout(r, 600));
      const { tries } = await recoverLostTries(platform.pool, { heartbeatTimeoutMs: 500 });
      expect(tries.map((t) => t.reason)).toEqual(['WorkerLost']);
      const end = await sub.until((r) => r.data.taskLogLines.tryEnded);
      expect(end.data.taskLogLines.try.state).toBe('failed');
      const stored = await platform.db.prisma.taskLog.findMany({ where: { taskTry: { taskInstanceId: ti.id } }, orderBy: { seq: 'asc' } });
      expect(stored.map((l) => l.message)).toEqual(['still here 0', 'still here 1', 'still here 2']);
      await sub.completed;
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('tells the DAG list changes, and tells every subscriber to resync after the LISTEN connection was killed', async () => {
    const dags = await subscribe(url, DAG_LIST);
    expect((await dags.next())!.data.dagsChanged).toEqual({ resync: true, importErrorsChanged: false, dags: [] });
    const pause = `mutation ($paused: Boolean!) { setDagPaused(input: { dagId: "talk", paused: $paused }) { id } }`;
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: pause, variables: { paused: true } }) });
    expect((await dags.next())!.data.dagsChanged).toEqual({ resync: false, importErrorsChanged: false, dags: [{ id: 'talk', paused: true, isActive: true }] });
    await platform.deploy(await dagFolder({ 'broken.ts': `import { dag } from '@updraft/sdk'; export default dag({ id: 'broken' }, () => { throw new Error('no'); });` }));
    expect((await dags.until((r) => r.data.dagsChanged.importErrorsChanged)).data.dagsChanged.resync).toBe(false);

    const runId = await platform.trigger('pair', { a: gate('pair-a'), b: gate('pair-b') });
    const run = await subscribe(url, RUN_UPDATES, { id: String(runId) });
    expect((await run.next())!.data.dagRunUpdated.resync).toBe(true);
    const [pid] = await listenerBackends();
    await platform.db.prisma.$queryRaw`SELECT pg_terminate_backend(${pid}::int)`;
    expect((await run.next())!.data.dagRunUpdated).toMatchObject({ resync: true, taskInstances: [] });
    expect((await dags.next())!.data.dagsChanged).toMatchObject({ resync: true, importErrorsChanged: true });
    const [newPid] = await listenerBackends();
    expect(newPid).not.toBe(pid);

    // And the streams go on.
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: pause, variables: { paused: false } }) });
    expect((await dags.next())!.data.dagsChanged.dags).toEqual([{ id: 'talk', paused: false, isActive: true }]);
    const worker = await platform.startWorker(1);
    expect((await run.until((r) => r.data.dagRunUpdated.dagRun.state === 'success')).data.dagRunUpdated.resync).toBe(false);
    await worker.stop();
    dags.close();
    run.close();
  });

  it('serves many subscribers over one LISTEN connection, and refuses past its limits (per client, per server)', async () => {
    // No worker runs: the task instance waits, and so do the streams of its lines.
    const runId = await platform.trigger('talk', { gate: gate('talk-2') });
    const ti = await instance(runId, 'talk');
    const subs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? subscribe(url, DAG_LIST) : i % 3 === 1 ? subscribe(url, RUN_UPDATES, { id: String(runId) }) : subscribe(url, LOG_LINES, { ti: String(ti.id) }))),
    );
    for (const sub of subs.filter((_, i) => i % 3 !== 2)) expect((await sub.next())!.errors).toBeUndefined();
    await waitUntil('every subscription is open', async () => live.subscriptions >= 30);
    expect(await listenerBackends()).toHaveLength(1);

    // A 31st from the same client is refused; other clients may still subscribe, up to the server's 40.
    const more = await subscribe(url, DAG_LIST);
    expect((await more.next())!.errors![0]).toMatchObject({ message: expect.stringContaining('the most one client may'), extensions: { code: 'SUBSCRIPTION_LIMIT' } });
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => live.open({ dags: true }, `client-${i}`)));
    await expect(live.open({ dags: true }, 'one-more')).rejects.toThrow('This server already serves 40 subscriptions, its limit');
    for (const inbox of others) inbox.close();
    for (const sub of [...subs, more]) sub.close();
    // Closed streams give their slots back.
    await waitUntil('the subscriptions are closed', async () => live.subscriptions === 0);
    expect(await listenerBackends()).toHaveLength(1);
  });

  it('sends a transaction\'s notifications with its COMMIT, whatever their text, and none when it rolls back', async () => {
    const listener = new pg.Client({ connectionString: platform.db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload!));
    await listener.query('LISTEN updraft_run');
    const payload = JSON.stringify({ run: 1, tis: [['1', "it's a \\ back'slash; COMMIT; --", -1, 'é', 0]] });
    await inTransaction(platform.pool, async () => undefined, () => [{ channel: 'updraft_run', payload }]);
    await expect(inTransaction(platform.pool, async () => Promise.reject(new Error('rolled back')), () => [{ channel: 'updraft_run', payload: '{}' }])).rejects.toThrow('rolled back');
    await inTransaction(platform.pool, async () => undefined, () => [{ channel: 'updraft_run', payload: 'last' }]);
    for (const deadline = Date.now() + 5_000; heard.length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    await listener.end();
    expect(heard).toEqual([payload, 'last']);
  });

  it("tells a DAG's new runs and their state changes, whoever created them, and nothing of other DAGs", async () => {
    const sub = await subscribe(url, DAG_RUNS, { dagId: 'talk' });
    expect(sub.status).toBe(200);
    expect((await sub.next())!.data.dagRunsChanged).toEqual({ resync: true, dagRuns: [] });

    // Runs created outside the API (as the scheduler or the CLI do), of another DAG first: not told.
    const pairRun = await platform.trigger('pair', { a: gate('runs-a'), b: gate('runs-b') });
    const talkRun = await platform.trigger('talk', { gate: gate('runs-talk') });
    const created = (await sub.next())!.data.dagRunsChanged;
    expect(created).toEqual({ resync: false, dagRuns: [{ id: String(talkRun), state: 'running', dag: { id: 'talk' } }] });

    // A state change is told; the other DAG's never is.
    await cancelDagRun(platform.pool, pairRun);
    await cancelDagRun(platform.pool, talkRun);
    const cancelled = (await sub.next())!.data.dagRunsChanged;
    expect(cancelled).toEqual({ resync: false, dagRuns: [{ id: String(talkRun), state: 'failed', dag: { id: 'talk' } }] });
    expect(await sub.next(500).catch(() => 'nothing')).toBe('nothing');
    sub.close();

    const unknown = await subscribe(url, DAG_RUNS, { dagId: 'no_such_dag' });
    expect((await unknown.next())!.errors).toEqual([expect.objectContaining({ message: 'DAG "no_such_dag" does not exist', extensions: { code: 'NOT_FOUND' } })]);
    const malformed = await subscribe(url, DAG_RUNS, { dagId: 'x'.repeat(300) });
    expect((await malformed.next())!.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    await waitUntil('the subscriptions are closed', async () => live.subscriptions === 0);
  });

  it("keeps a finished run's grid cells in memory until a notification names the run", async () => {
    await open('talk-2'); // the talk run left waiting above, which a worker would otherwise be busy with
    const runId = await platform.trigger('quick');
    const worker = await platform.startWorker(2);
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
    const cell = async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ dagGrid(dagId: "quick", runs: 1) { runs { id } rows { edges { node { task { id } cells { dagRunId state } } } } } }` }),
      });
      const { data } = (await response.json()) as { data: { dagGrid: { runs: Array<{ id: string }>; rows: { edges: Array<{ node: { cells: Array<{ dagRunId: string; state: string }> } }> } } } };
      expect(data.dagGrid.runs).toEqual([{ id: String(runId) }]);
      return data.dagGrid.rows.edges[0]!.node.cells[0]!.state;
    };
    // The first read opens the cache's hold on the LISTEN connection; once it listens, a read is kept.
    expect(await cell()).toBe('success');
    (await live.watch(() => undefined))();
    expect(await cell()).toBe('success');
    // A change behind the platform's back notifies nobody: the kept counts are served.
    await platform.db.prisma.taskInstance.updateMany({ where: { dagRunId: runId }, data: { state: 'skipped' } });
    expect(await cell()).toBe('success');
    // An operator's mark notifies: the next read counts anew (and sees both changes).
    expect(await markTaskInstances(platform.pool, { dagRunId: runId, taskIds: ['one'], state: 'failed' })).toBe(1);
    await waitUntil('the grid shows the mark', async () => (await cell()) === 'failed');
  });

  it('authorizes a subscription when it starts: a token, and a grant on the DAG it follows', async () => {
    const closed = await serveApi({ prisma: platform.db.prisma, pool: platform.pool, live }, { host: '127.0.0.1', port: 0, auth: { open: false, failedAuth: { maxFailures: 1_000 } } });
    try {
      const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/graphql`;
      const talkOnly = (await createApiToken(platform.db.prisma, { role: 'viewer', dagIds: ['talk'] }, 'test')).token;
      const as = (token: string) => ({ authorization: `Bearer ${token}` });
      const talkRun = await platform.trigger('talk', { gate: gate('talk-3') });
      const pairRun = await platform.trigger('pair', { a: gate('never-a'), b: gate('never-b') });
      const pairTi = await instance(pairRun, 'first');

      const anonymous = await subscribe(closedUrl, RUN_UPDATES, { id: String(talkRun) });
      expect(anonymous.status).toBe(401);
      expect((await anonymous.next())!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });

      const granted = await subscribe(closedUrl, RUN_UPDATES, { id: String(talkRun) }, as(talkOnly));
      expect((await granted.next())!.data.dagRunUpdated).toMatchObject({ resync: true, dagRun: { id: String(talkRun) } });
      granted.close();
      for (const [query, variables] of [
        [RUN_UPDATES, { id: String(pairRun) }],
        [LOG_LINES, { ti: String(pairTi.id) }],
      ] as const) {
        const refused = await subscribe(closedUrl, query, variables, as(talkOnly));
        expect((await refused.next())!.errors![0]).toMatchObject({ message: expect.stringContaining('has no grant on the DAG of run'), extensions: { code: 'FORBIDDEN' } });
      }
      // A DAG's runs: only with a grant on that DAG.
      const otherDagRuns = await subscribe(closedUrl, DAG_RUNS, { dagId: 'pair' }, as(talkOnly));
      expect((await otherDagRuns.next())!.errors![0]).toMatchObject({ message: expect.stringContaining('pair'), extensions: { code: 'FORBIDDEN' } });
      expect(await otherDagRuns.next()).toBeNull();
      const ownDagRuns = await subscribe(closedUrl, DAG_RUNS, { dagId: 'talk' }, as(talkOnly));
      expect((await ownDagRuns.next())!.data.dagRunsChanged).toEqual({ resync: true, dagRuns: [] });
      ownDagRuns.close();

      // The DAG list tells a limited token of its DAGs only.
      const dags = await subscribe(closedUrl, DAG_LIST, undefined, as(talkOnly));
      expect((await dags.next())!.data.dagsChanged.resync).toBe(true);
      await platform.db.prisma.dag.updateMany({ where: { id: { in: ['pair', 'talk'] } }, data: { paused: true } });
      expect((await dags.next())!.data.dagsChanged.dags).toEqual([{ id: 'talk', paused: true, isActive: true }]);
      await platform.db.prisma.dag.updateMany({ where: { id: { in: ['pair', 'talk'] } }, data: { paused: false } });
      dags.close();
      await waitUntil('the subscriptions are closed', async () => live.subscriptions === 0);
      for (const run of [talkRun, pairRun]) await cancelDagRun(platform.pool, run); // nothing left waiting for a worker
    } finally {
      closed.closeAllConnections();
      await new Promise((resolve) => closed.close(resolve));
    }
  });

  it('describes every subscription, argument and field of its events', () => {
    const undocumented: string[] = [];
    const subscription = schema.getSubscriptionType()!;
    if (!subscription.description) undocumented.push('Subscription');
    for (const field of Object.values(subscription.getFields())) {
      if (!field.description) undocumented.push(`Subscription.${field.name}`);
      for (const arg of field.args) if (!arg.description) undocumented.push(`Subscription.${field.name}(${arg.name})`);
    }
    for (const name of ['DagRunUpdate', 'DagRunsUpdate', 'TaskLogLinesUpdate', 'DagListUpdate']) {
      const type = schema.getType(name) as import('graphql').GraphQLObjectType;
      if (!type.description) undocumented.push(name);
      for (const field of Object.values(type.getFields())) if (!field.description) undocumented.push(`${name}.${field.name}`);
    }
    expect(undocumented).toEqual([]);
    expect(Object.keys(subscription.getFields()).sort()).toEqual(['dagRunUpdated', 'dagRunsChanged', 'dagsChanged', 'taskLogLines']);
  });

  it('refuses unknown and malformed ids, foreign origins and oversized subscriptions', async () => {
    const unknown = await subscribe(url, RUN_UPDATES, { id: '999999' });
    expect((await unknown.next())!.errors).toEqual([expect.objectContaining({ message: 'DagRun 999999 does not exist', extensions: { code: 'NOT_FOUND' } })]);
    expect(await unknown.next()).toBeNull();

    const malformed = await subscribe(url, RUN_UPDATES, { id: 'abc' });
    expect((await malformed.next())!.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const both = await subscribe(url, LOG_LINES, { ti: '1', try: '1' });
    expect((await both.next())!.errors![0]).toMatchObject({ message: 'taskLogLines takes either tryId or taskInstanceId', extensions: { code: 'BAD_USER_INPUT' } });
    const noTry = await subscribe(url, LOG_LINES, { try: '999999999' });
    expect((await noTry.next())!.errors![0]).toMatchObject({ message: 'TaskTry 999999999 does not exist', extensions: { code: 'NOT_FOUND' } });

    const foreign = await subscribe(url, DAG_LIST, undefined, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);

    // Limits apply as to queries: refused before anything runs, with HTTP 400.
    const deep = `subscription { dagRunUpdated(id: 1) { dagRun { dag { runs { edges { node { dag { runs { edges { node { id } } } } } } } } } } }`;
    const tooDeep = await subscribe(url, deep);
    expect(tooDeep.status).toBe(400);
    expect((await tooDeep.next())!.errors![0]!.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED' });
    const huge = `subscription { dagsChanged { dags { runs(first: 1000) { edges { node { taskInstances(first: 1000) { edges { node { id } } } } } } } } }`;
    const tooCostly = await subscribe(url, huge);
    expect(tooCostly.status).toBe(400);
    expect((await tooCostly.next())!.errors![0]).toMatchObject({ message: expect.stringContaining('exceeds the limit'), extensions: { code: 'QUERY_LIMIT_EXCEEDED' } });
    expect(await tooCostly.next()).toBeNull();
    // A subscription's selection is read at every event: it may cost a tenth of a query.
    const logsOfEveryChange = await subscribe(url, `subscription { dagRunUpdated(id: 1) { taskInstances { tries { logs(first: 1000) { edges { node { seq message } } } } } } }`);
    expect(logsOfEveryChange.status).toBe(400);
    expect((await logsOfEveryChange.next())!.errors![0]).toMatchObject({ message: expect.stringContaining('limit of 200000'), extensions: { code: 'QUERY_LIMIT_EXCEEDED' } });
    expect(live.subscriptions).toBe(0);
  });

  it("streams an operator's actions: a clear, a cancel, and the run's deletion, which ends the stream", async () => {
    await Promise.all(['pair-a', 'pair-b', 'talk-2'].map(open)); // talk-2: the run left waiting above may end too
    const runId = await platform.trigger('pair', { a: gate('pair-a'), b: gate('pair-b') });
    const worker = await platform.startWorker(2);
    expect(await platform.waitForRun(runId)).toBe('success');
    await worker.stop();
    const sub = await subscribe(url, RUN_UPDATES, { id: String(runId) });
    expect((await sub.next())!.data.dagRunUpdated.resync).toBe(true);

    // No worker runs: the cleared instance is queued again and stays so.
    expect(await clearTaskInstances(platform.pool, { dagRunId: runId, taskIds: ['second'] })).toBe(1);
    const cleared = (await sub.next())!.data.dagRunUpdated;
    expect(cleared).toMatchObject({ resync: false, dagRun: { state: 'running' }, taskInstances: [{ taskId: 'second', state: 'queued', tryNumber: 1 }] });

    await cancelDagRun(platform.pool, runId);
    const cancelled = (await sub.next())!.data.dagRunUpdated;
    expect(cancelled).toMatchObject({ resync: true, dagRun: { state: 'failed' }, taskInstances: [] });

    await deleteDag(platform.db.prisma, 'pair');
    expect((await sub.next())!.data.dagRunUpdated).toEqual({ resync: true, dagRun: null, taskInstances: [] });
    expect(await sub.next()).toBeNull();
  });
});
