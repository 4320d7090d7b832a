import { Command, InvalidArgumentError } from 'commander';
import { bundleCacheDir, resolveConfig } from '../config.js';
import { deployDags, type DeployResult } from '../deploy.js';
import { coerceError } from '../errors.js';
import { HEARTBEAT_TIMEOUT_MS } from '../executor/recovery.js';
import { sql } from '../executor/sql.js';
import { startWorker } from '../executor/worker.js';
import type { TryEvent } from '../executor/run-task.js';
import { openDatabase, startPlatform } from '../platform.js';
import { startScheduler } from '../scheduler.js';
import { connectClient, type ApiClient } from './client.js';

const program = new Command('updraft').description('Updraft: workflow orchestration on PostgreSQL').showHelpAfterError();
const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
};

program
  .command('start')
  .description('Run the API, the scheduler and a worker in one process, after deploying --dags')
  .option('--dags <dir>', 'DAG folder to deploy at start')
  .option('--port <port>', 'API port (default 4000, or PORT)', integer)
  .option('--host <host>', 'API host (default 127.0.0.1)')
  .option('--concurrency <n>', 'task instances run at once (default 8)', integer)
  .action(async (opts: { dags?: string; port?: number; host?: string; concurrency?: number }) => {
    survivePromiseLeaks();
    const { dags: dagsDir, ...overrides } = opts;
    const config = resolveConfig(overrides);
    const platform = await startPlatform(config, { dagsDir, onEvent: printEvent, onWarning: warn });
    if (platform.deploy) printDeploy(platform.deploy);
    console.log(`Updraft is up: GraphQL at ${platform.url} (Ctrl-C to stop)`);
    await untilSignal();
    console.log('Stopping…');
    await platform.stop();
  });

program
  .command('worker')
  .description('Run a worker that executes task instances (any number may share one database)')
  .option('--concurrency <n>', 'task instances run at once (default 8)', integer)
  .action(async (opts: { concurrency?: number }) => {
    survivePromiseLeaks();
    const config = resolveConfig(opts);
    const database = await openDatabase(config);
    const worker = await startWorker({ pool: database.pool, cacheDir: bundleCacheDir(config), concurrency: config.concurrency, onEvent: printEvent, onWarning: warn });
    console.log(`Worker ${worker.id} is running (Ctrl-C to stop)`);
    await untilSignal();
    await worker.stop();
    await database.close();
  });

program
  .command('scheduler')
  .description('Run a scheduler only: scheduled runs and lost-worker recovery (any number may run at once)')
  .action(async () => {
    const database = await openDatabase(resolveConfig());
    const scheduler = startScheduler({ pool: database.pool, onWarning: warn });
    console.log('Scheduler is running (Ctrl-C to stop)');
    await untilSignal();
    await scheduler.stop();
    await database.close();
  });

program
  .command('deploy <dir>')
  .description('Bundle, validate and store the DAGs of a folder')
  .option('--source <name>', "name of this deploy source; a deploy retires only its own source's DAGs (default: the folder's relative path)")
  .action(async (dir: string, opts: { source?: string }) => {
    const config = resolveConfig();
    const database = await openDatabase(config);
    try {
      const result = await deployDags(database.prisma, dir, { cacheDir: bundleCacheDir(config), source: opts.source });
      printDeploy(result);
      if (result.importErrors.length > 0) process.exitCode = 1;
    } finally {
      await database.close();
    }
  });

const dags = program.command('dags').description('List and trigger DAGs');
const urlOption = '--url <url>';
const urlHelp = 'GraphQL endpoint of a running Updraft (default: the local database)';

dags
  .command('list')
  .option(urlOption, urlHelp)
  .action(async (opts: { url?: string }) =>
    withClient(opts.url, async (client) => {
      const data = await client.request<{ dags: { edges: Array<{ node: { id: string; paused: boolean; schedule: string | null; fileName: string; tasks: unknown[] } }> } }>(
        `query { dags(first: 500) { edges { node { id paused schedule fileName tasks { id } } } } }`,
      );
      const rows = data.dags.edges.map(({ node }) => [node.id, node.fileName, node.schedule ?? '-', node.paused ? 'paused' : 'active', String(node.tasks.length)]);
      printTable(['dag', 'file', 'schedule', 'status', 'tasks'], rows);
    }),
  );

dags
  .command('trigger <dagId>')
  .description('Start a manual run')
  .option('--conf <json>', 'JSON object for the run', '{}')
  .option('--wait', 'wait for the run to end; exit non-zero unless it succeeded')
  .option(urlOption, urlHelp)
  .action(async (dagId: string, opts: { conf: string; wait?: boolean; url?: string }) => {
    let conf: unknown;
    try {
      conf = JSON.parse(opts.conf);
    } catch (e) {
      throw new InvalidArgumentError(`--conf is not valid JSON: ${(e as Error).message}`);
    }
    await withClient(opts.url, async (client) => {
      const { triggerDagRun } = await client.request<{ triggerDagRun: { dagRun: { id: string; runId: string; state: string } } }>(
        `mutation ($input: TriggerDagRunInput!) { triggerDagRun(input: $input) { dagRun { id runId state } } }`,
        { input: { dagId, conf } },
      );
      const run = triggerDagRun.dagRun;
      console.log(`Triggered ${dagId} run ${run.id} (${run.runId})`);
      if (!opts.wait) return;
      const stopLocalWorker = await ensureWorker(client);
      try {
        const state = await waitForRun(client, run.id);
        console.log(state);
        if (state !== 'success') process.exitCode = 1;
      } finally {
        await stopLocalWorker();
      }
    });
  });

for (const [name, paused] of [['pause', true], ['unpause', false]] as const) {
  dags
    .command(`${name} <dagId>`)
    .description(paused ? 'Stop scheduling and triggering a DAG' : 'Resume a paused DAG')
    .option(urlOption, urlHelp)
    .action(async (dagId: string, opts: { url?: string }) =>
      withClient(opts.url, async (client) => {
        await client.request(`mutation ($input: SetDagPausedInput!) { setDagPaused(input: $input) { id paused } }`, { input: { dagId, paused } });
        console.log(`${dagId} is ${paused ? 'paused' : 'active'}`);
      }),
    );
}

async function withClient(url: string | undefined, fn: (client: ApiClient) => Promise<void>) {
  const client = await connectClient(resolveConfig(), url);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * `--wait` against the local database with no live worker (no `updraft start` running)
 * would wait forever, so this command runs a worker itself until the run ends.
 */
async function ensureWorker(client: ApiClient): Promise<() => Promise<void>> {
  const database = client.database;
  if (!database) return async () => {};
  const [workers] = await sql<{ live: number }>(database.pool, 'count_live_workers', [HEARTBEAT_TIMEOUT_MS]);
  if (workers!.live > 0) return async () => {};
  console.error('No worker is running; running one in this process until the run ends.');
  survivePromiseLeaks();
  const worker = await startWorker({ pool: database.pool, cacheDir: bundleCacheDir(resolveConfig()), onEvent: printEvent, onWarning: warn });
  return () => worker.stop();
}

async function waitForRun(client: ApiClient, id: string): Promise<string> {
  for (;;) {
    const { dagRun } = await client.request<{ dagRun: { state: string } }>(`query ($id: ID!) { dagRun(id: $id) { state } }`, { id });
    if (dagRun.state === 'success' || dagRun.state === 'failed') return dagRun.state;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function printDeploy(result: DeployResult) {
  for (const dag of result.dags) {
    console.log(`  ✓ ${dag.dagId} (${dag.fileName}) version ${dag.versionNumber}${dag.changed ? ' (new)' : ''}`);
  }
  for (const error of result.importErrors) {
    console.log(`  ✗ ${error.fileName}\n${error.message.replace(/^/gm, '      ')}`);
  }
  console.log(`Deployed ${result.source} as bundle ${result.bundleHash.slice(0, 12)}: ${result.dags.length} DAG(s), ${result.importErrors.length} import error(s)`);
}

function printEvent(event: TryEvent) {
  const where = `${event.dagId}.${event.taskId}#${event.tryNumber}`;
  if (event.kind === 'log') {
    const fields = event.line.fields === undefined ? '' : ` ${JSON.stringify(event.line.fields)}`;
    console.log(`[${where}] ${event.line.level}: ${event.line.message}${fields}`);
  }
  else if (event.result.taskState !== 'success') console.log(`[${where}] ${event.result.taskState}`);
}

function warn(message: string) {
  console.warn(`warning: ${message}`);
}

function printTable(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

/**
 * Task code runs in the worker process; a promise it forgets to handle must not take the
 * worker and every other running try down with it.
 */
function survivePromiseLeaks() {
  process.on('unhandledRejection', (reason) => console.warn(`unhandled promise rejection (in task code?): ${coerceError(reason).stack}`));
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

program.parseAsync().catch((e: unknown) => {
  console.error(`updraft: ${coerceError(e).message}`);
  process.exit(1);
});
