import { Command, InvalidArgumentError } from 'commander';
import { bundleCacheDir, resolveConfig } from '../config.js';
import { deployDags, type DeployResult } from '../deploy.js';
import { coerceError } from '../errors.js';
import { sql } from '../executor/sql.js';
import { startWorker, workerSettings } from '../executor/worker.js';
import { durationMs, memoryMb } from '../dags/duration.js';
import type { TryEvent } from '../executor/run-task.js';
import { openDatabase, startPlatform } from '../platform.js';
import { triggerDagRun } from '../runs.js';
import { startScheduler } from '../scheduler.js';
import { connectClient, type ApiClient } from './client.js';

const program = new Command('updraft').description('Updraft: workflow orchestration on PostgreSQL').showHelpAfterError();
const duration = (value: string) => {
  const ms = durationMs(value as never);
  if (ms === undefined) throw new InvalidArgumentError('must be a duration such as "30s" or "2m"');
  return ms;
};
const memorySize = (value: string) => {
  const mb = memoryMb(value);
  if (mb === undefined) throw new InvalidArgumentError('must be a memory size such as "512MB" or "2GB"');
  return mb;
};
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
  .option('--memory-limit <size>', 'memory of a task process unless the task sets memoryLimit (default 1GB, or UPDRAFT_MEMORY_LIMIT)', memorySize)
  .option('--grace <duration>', 'on Ctrl-C/SIGTERM, how long running tries may finish before they are aborted (default 30s)', duration)
  .option('--cors-origin <origin...>', 'origins browsers may call the API from besides its own (or UPDRAFT_CORS_ORIGINS)')
  .option('--allowed-host <host...>', 'extra Host header values the API accepts, e.g. behind a proxy (or UPDRAFT_ALLOWED_HOSTS)')
  .action(async (opts: { dags?: string; port?: number; host?: string; concurrency?: number; memoryLimit?: number; grace?: number; corsOrigin?: string[]; allowedHost?: string[] }) => {
    survivePromiseLeaks();
    const { dags: dagsDir, grace, memoryLimit, corsOrigin, allowedHost, ...overrides } = opts;
    const config = resolveConfig({ ...overrides, memoryLimitMb: memoryLimit, shutdownGraceMs: grace, corsOrigins: corsOrigin, allowedHosts: allowedHost });
    const platform = await startPlatform(config, { dagsDir, onEvent: printEvent, onWarning: warn });
    if (platform.deploy) printDeploy(platform.deploy);
    console.log(`Updraft is up: GraphQL at ${platform.url} (Ctrl-C to stop)`);
    await stopOnSignals(config.shutdownGraceMs, (force) => platform.stop({ force }));
  });

program
  .command('worker')
  .description('Run a worker that executes task instances (any number may share one database)')
  .option('--concurrency <n>', 'task instances run at once (default 8)', integer)
  .option('--memory-limit <size>', 'memory of a task process unless the task sets memoryLimit (default 1GB, or UPDRAFT_MEMORY_LIMIT)', memorySize)
  .option('--grace <duration>', 'on Ctrl-C/SIGTERM, how long running tries may finish before they are aborted (default 30s)', duration)
  .action(async (opts: { concurrency?: number; memoryLimit?: number; grace?: number }) => {
    survivePromiseLeaks();
    const config = resolveConfig({ concurrency: opts.concurrency, memoryLimitMb: opts.memoryLimit, shutdownGraceMs: opts.grace });
    const database = await openDatabase(config);
    const worker = await startWorker({ pool: database.pool, databaseUrl: database.url, ...workerSettings(config), onEvent: printEvent, onWarning: warn });
    console.log(`Worker ${worker.id} is running (Ctrl-C to stop)`);
    await stopOnSignals(config.shutdownGraceMs, async (force) => {
      await worker.stop({ force });
      await database.close();
    });
  });

program
  .command('scheduler')
  .description('Run a scheduler only: scheduled runs and lost-worker recovery (any number may run at once)')
  .action(async () => {
    const config = resolveConfig();
    const database = await openDatabase(config);
    const scheduler = startScheduler({ pool: database.pool, lostWorkerTimeoutMs: config.lostWorkerTimeoutMs, onWarning: warn });
    console.log('Scheduler is running (Ctrl-C to stop)');
    await untilSignal();
    await scheduler.stop();
    await database.close();
  });

program
  .command('deploy <dir>')
  .description('Bundle, validate and store the DAGs of a folder')
  .option('--source <name>', "name of this deploy source; a deploy retires only its own source's DAGs (default: the folder's relative path)")
  .option('--takeover', "move DAG ids that an active DAG of another deploy source owns to this source (otherwise their files fail)")
  .action(async (dir: string, opts: { source?: string; takeover?: boolean }) => {
    const config = resolveConfig();
    const database = await openDatabase(config);
    try {
      const result = await deployDags(database.prisma, dir, { cacheDir: bundleCacheDir(config), source: opts.source, takeover: opts.takeover });
      printDeploy(result);
      if (result.importErrors.length > 0) process.exitCode = 1;
    } finally {
      await database.close();
    }
  });

const dags = program.command('dags').description('List, trigger, test, pause and unpause DAGs');
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
    const conf = parseConf(opts.conf);
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

dags
  .command('test <dagId>')
  .description('Run one DAG run now with a worker in this process, printing each task as it ends; exit 1 unless the run succeeded')
  .option('--conf <json>', 'JSON object for the run', '{}')
  .action(async (dagId: string, opts: { conf: string }) => {
    const conf = parseConf(opts.conf);
    survivePromiseLeaks();
    const config = resolveConfig();
    const database = await openDatabase(config, { onWarning: warn });
    const worker = await startWorker({
      pool: database.pool,
      databaseUrl: database.url,
      ...workerSettings(config),
      onWarning: warn,
      onEvent: (event) => {
        if (event.dagId !== dagId) return;
        if (event.kind === 'log') printEvent(event);
        else console.log(`${instanceName(event).padEnd(30)} ${event.result.taskState.padEnd(14)} ${(event.durationMs / 1000).toFixed(2)} s (try ${event.tryNumber})`);
      },
    });
    try {
      const runId = await triggerDagRun(database.pool, { dagId, conf });
      console.log(`Testing ${dagId}: run ${runId}`);
      let run = await database.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
      while (run.state !== 'success' && run.state !== 'failed') {
        await new Promise((r) => setTimeout(r, 50));
        run = await database.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
      }
      // Instances that never ran (skipped, upstream_failed) have no try to report as they end.
      for (const ti of await database.prisma.taskInstance.findMany({ where: { dagRunId: runId, tryNumber: 0 }, orderBy: { id: 'asc' } })) {
        console.log(`${instanceName(ti).padEnd(30)} ${ti.state}`);
      }
      console.log(run.state);
      if (run.state !== 'success') process.exitCode = 1;
    } finally {
      await worker.stop();
      await database.close();
    }
  });

/** A task instance as `dags test` names it: `task`, or `task[mapIndex]` for a mapped instance. */
function instanceName(ti: { taskId: string; mapIndex: number }): string {
  return ti.mapIndex < 0 ? ti.taskId : `${ti.taskId}[${ti.mapIndex}]`;
}

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

function parseConf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`--conf is not valid JSON: ${(e as Error).message}`);
  }
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
  const config = resolveConfig();
  const [workers] = await sql<{ live: number }>(database.pool, 'count_live_workers', [config.lostWorkerTimeoutMs]);
  if (workers!.live > 0) return async () => {};
  console.error('No worker is running; running one in this process until the run ends.');
  survivePromiseLeaks();
  const worker = await startWorker({ pool: database.pool, databaseUrl: database.url, ...workerSettings(config), onEvent: printEvent, onWarning: warn });
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

/**
 * Waits for SIGINT/SIGTERM, then stops gracefully: running tries get `graceMs` to finish.
 * A second signal forces the stop.
 */
async function stopOnSignals(graceMs: number, stop: (force: boolean) => Promise<void>): Promise<void> {
  await untilSignal();
  console.log(`Stopping: running tries have ${graceMs / 1000} s to finish (signal again to force)…`);
  const forced = untilSignal().then(() => {
    console.log('Forcing the stop: running tries are aborted and retried later.');
    return stop(true);
  });
  await Promise.race([stop(false), forced]);
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
