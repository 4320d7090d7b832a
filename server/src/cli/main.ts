// The `updraft` CLI. Only light modules are imported up front; each command imports what it
// runs (the database, the API, the executor, esbuild) when it runs, so that `updraft --help`
// and argument errors answer at once (see ARCHITECTURE.md, "Packages").
import { Command, InvalidArgumentError } from 'commander';
import type { TryEvent } from '../executor/run-task.js';
import type { DeployResult } from '../deploy.js';
import { byteSize, durationMs, memoryMb } from '../dags/duration.js';
import { isRole, type Role, ROLES } from '../roles.js';
import { parseAge, parseTables, type RetentionTable } from '../retention/policy.js';
import type { ApiClient } from './client.js';
import { addPoolCommands } from './pools.js';

const RETENTION_OPTION = '--retention-days <days>';
const RETENTION_HELP = 'days history is kept by the retention job this process runs, or "off" (default 30, or UPDRAFT_RETENTION_DAYS)';
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
const retentionDays = (value: string): number | 'off' => {
  if (value === 'off' || value === '0') return 'off';
  const days = Number(value);
  if (!(Number.isFinite(days) && days > 0)) throw new InvalidArgumentError('must be a number of days (e.g. 30), or "off" for no retention job');
  return days;
};
const retentionOverride = (days: number | 'off' | undefined) => (days === undefined ? undefined : days === 'off' ? ('off' as const) : { defaultDays: days });
const isoDate = (value: string) => {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(date.getTime())) throw new InvalidArgumentError('must be an ISO 8601 date such as 2026-01-01 or 2026-01-01T00:00:00Z');
  return date;
};

const byteCount = (value: string) => {
  const bytes = byteSize(value);
  if (bytes === undefined) throw new InvalidArgumentError('must be a size such as "5MB" or "64KB"');
  return bytes;
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
  .option('--queues <names>', 'the queues its worker takes task instances from, comma-separated (default: default, or UPDRAFT_QUEUES)', commaList)
  .option('--memory-limit <size>', 'memory of a task process unless the task sets memoryLimit (default 1GB, or UPDRAFT_MEMORY_LIMIT)', memorySize)
  .option('--grace <duration>', 'on Ctrl-C/SIGTERM, how long running tries may finish before they are aborted (default 30s)', duration)
  .option('--log-max-lines <n>', 'lines one try may log before the rest is dropped with a marker (default 10000, or UPDRAFT_LOG_MAX_LINES)', integer)
  .option('--log-max-bytes <size>', 'bytes one try may log, likewise (default 5MB, or UPDRAFT_LOG_MAX_BYTES)', byteCount)
  .option('--cors-origin <origin...>', 'origins browsers may call the API from besides its own (or UPDRAFT_CORS_ORIGINS)')
  .option('--allowed-host <host...>', 'extra Host header values the API accepts, e.g. behind a proxy (or UPDRAFT_ALLOWED_HOSTS)')
  .option(RETENTION_OPTION, RETENTION_HELP, retentionDays)
  .action(async (opts: { dags?: string; port?: number; host?: string; concurrency?: number; queues?: string[]; memoryLimit?: number; grace?: number; logMaxLines?: number; logMaxBytes?: number; corsOrigin?: string[]; allowedHost?: string[]; retentionDays?: number | 'off' }) => {
    const [{ resolveConfig }, { isLoopback }, { fixedSecretKey, localSecretKey, SECRET_KEY_VARIABLE }, { startPlatform }] = await Promise.all([
      import('../config.js'),
      import('../api/server.js'),
      import('../secrets/key.js'),
      import('../platform.js'),
    ]);
    await survivePromiseLeaks();
    const { dags: dagsDir, grace, memoryLimit, corsOrigin, allowedHost, retentionDays, ...overrides } = opts;
    const config = resolveConfig({ ...overrides, memoryLimitMb: memoryLimit, shutdownGraceMs: grace, corsOrigins: corsOrigin, allowedHosts: allowedHost, retention: retentionOverride(retentionDays) });
    // Open for local use; an address other machines can reach gets what `updraft server` has.
    const open = isLoopback(config.host);
    // Local use just works: without UPDRAFT_SECRET_KEY, the home's own key (made on first start).
    const { key, generated } = await localSecretKey(config.home);
    const platform = await startPlatform(config, { dagsDir, auth: { open }, secretKey: fixedSecretKey(key), onEvent: printEvent, onWarning: warn });
    if (platform.deploy) printDeploy(platform.deploy);
    if (generated) {
      console.log(`Generated the secret key that encrypts secret variables and connection passwords: ${key.source} (keep it; set ${SECRET_KEY_VARIABLE} instead on servers)`);
    }
    const signalled = untilSignal(); // before saying it is up: whoever reads that may signal at once
    console.log(`Updraft is up: GraphQL at ${platform.url} (Ctrl-C to stop)`);
    console.log(open ? OPEN_BANNER : TOKENS_BANNER);
    await stopOnSignals(config.shutdownGraceMs, (force) => platform.stop({ force }), signalled);
  });

const OPEN_BANNER = [
  '┌─ The API is OPEN: anyone on this machine can use it as an admin, without a token. ─┐',
  '│  Fine for local use. To serve other machines, run `updraft server` (tokens        │',
  '│  required) with `updraft worker`s, and create tokens with `updraft tokens create`. │',
  '└────────────────────────────────────────────────────────────────────────────────────┘',
].join('\n');
const TOKENS_BANNER = 'The API requires a token (Authorization: Bearer <token>) on every request: create one with `updraft tokens create --role <role>`.';

program
  .command('server')
  .description('Run the API and the scheduler, no worker (the production entry): every request needs an API token')
  .option('--dags <dir>', 'DAG folder to deploy at start')
  .option('--port <port>', 'API port (default 4000, or PORT)', integer)
  .option('--host <host>', 'API host (default 127.0.0.1; 0.0.0.0 for every interface)')
  .option('--open', 'serve without tokens (every request acts as an admin); refused unless --host is a loopback address')
  .option('--introspection', 'answer GraphQL introspection (__schema) to callers with a token (default off)')
  .option('--cors-origin <origin...>', 'origins browsers may call the API from besides its own (or UPDRAFT_CORS_ORIGINS)')
  .option('--allowed-host <host...>', 'extra Host header values the API accepts, e.g. behind a proxy (or UPDRAFT_ALLOWED_HOSTS)')
  .action(async (opts: { dags?: string; port?: number; host?: string; open?: boolean; introspection?: boolean; corsOrigin?: string[]; allowedHost?: string[] }) => {
    const [{ resolveConfig }, { fixedSecretKey, secretKeyFromEnv, SECRET_KEY_VARIABLE }, { startPlatform }] = await Promise.all([
      import('../config.js'),
      import('../secrets/key.js'),
      import('../platform.js'),
    ]);
    const config = resolveConfig({ port: opts.port, host: opts.host, corsOrigins: opts.corsOrigin, allowedHosts: opts.allowedHost });
    const open = opts.open ?? false;
    const key = secretKeyFromEnv();
    if (!key) {
      throw new Error(
        `updraft server needs ${SECRET_KEY_VARIABLE}: the key that encrypts secret variables and connection passwords, at least 32 characters of random text (e.g. \`openssl rand -base64 32\`). Give every worker the same key.`,
      );
    }
    const platform = await startPlatform(config, {
      dagsDir: opts.dags,
      worker: false,
      auth: { open, introspection: opts.introspection ?? false },
      secretKey: fixedSecretKey(key),
      onWarning: warn,
    });
    if (platform.deploy) printDeploy(platform.deploy);
    const signalled = untilSignal(); // before saying it is up: whoever reads that may signal at once
    console.log(`Updraft server is up: GraphQL at ${platform.url}, with the scheduler; run workers with \`updraft worker\` (Ctrl-C to stop)`);
    console.log(open ? OPEN_BANNER : `${TOKENS_BANNER}${opts.introspection ? '' : ' Introspection is off (--introspection turns it on).'}`);
    await signalled;
    console.log('Stopping…');
    await platform.stop();
  });

program
  .command('worker')
  .description('Run a worker that executes task instances (any number may share one database)')
  .option('--concurrency <n>', 'task instances run at once (default 8)', integer)
  .option('--queues <names>', 'the queues its worker takes task instances from, comma-separated (default: default, or UPDRAFT_QUEUES)', commaList)
  .option('--memory-limit <size>', 'memory of a task process unless the task sets memoryLimit (default 1GB, or UPDRAFT_MEMORY_LIMIT)', memorySize)
  .option('--grace <duration>', 'on Ctrl-C/SIGTERM, how long running tries may finish before they are aborted (default 30s)', duration)
  .option('--log-max-lines <n>', 'lines one try may log before the rest is dropped with a marker (default 10000, or UPDRAFT_LOG_MAX_LINES)', integer)
  .option('--log-max-bytes <size>', 'bytes one try may log, likewise (default 5MB, or UPDRAFT_LOG_MAX_BYTES)', byteCount)
  .option(RETENTION_OPTION, RETENTION_HELP, retentionDays)
  .action(async (opts: { concurrency?: number; queues?: string[]; memoryLimit?: number; grace?: number; logMaxLines?: number; logMaxBytes?: number; retentionDays?: number | 'off' }) => {
    const [{ resolveConfig }, { processSecretKey }, { openDatabase }, { startWorker, workerSettings }] = await Promise.all([
      import('../config.js'),
      import('../secrets/key.js'),
      import('../platform.js'),
      import('../executor/worker.js'),
    ]);
    await survivePromiseLeaks();
    const config = resolveConfig({ concurrency: opts.concurrency, queues: opts.queues, memoryLimitMb: opts.memoryLimit, shutdownGraceMs: opts.grace, logMaxLines: opts.logMaxLines, logMaxBytes: opts.logMaxBytes, retention: retentionOverride(opts.retentionDays) });
    const secretKey = processSecretKey(config.home); // checks UPDRAFT_SECRET_KEY before anything starts
    const database = await openDatabase(config);
    const worker = await startWorker({ pool: database.pool, databaseUrl: database.url, ...workerSettings(config), secretKey, onEvent: printEvent, onWarning: warn });
    console.log(`Worker ${worker.id} is running, serving queue${config.queues.length > 1 ? 's' : ''} ${config.queues.join(', ')} (Ctrl-C to stop)`);
    await stopOnSignals(config.shutdownGraceMs, async (force) => {
      await worker.stop({ force });
      await database.close();
    });
  });

program
  .command('scheduler')
  .description('Run a scheduler only: scheduled runs and lost-worker recovery (any number may run at once)')
  .action(async () => {
    const [{ resolveConfig }, { openDatabase }, { LiveUpdates }, { startScheduler }] = await Promise.all([
      import('../config.js'),
      import('../platform.js'),
      import('../live/live-updates.js'),
      import('../scheduler.js'),
    ]);
    const config = resolveConfig();
    const database = await openDatabase(config);
    // The one LISTEN connection of this process: the scheduler wakes on its notifications.
    const live = new LiveUpdates({ databaseUrl: database.url, onWarning: warn });
    const scheduler = startScheduler({ pool: database.pool, live, lostWorkerTimeoutMs: config.lostWorkerTimeoutMs, onWarning: warn });
    console.log('Scheduler is running (Ctrl-C to stop)');
    await untilSignal();
    await scheduler.stop();
    await live.close();
    await database.close();
  });

program
  .command('deploy <dir>')
  .description('Bundle, validate and store the DAGs of a folder')
  .option('--source <name>', "name of this deploy source; a deploy retires only its own source's DAGs (default: the folder's relative path)")
  .option('--takeover', "move DAG ids that an active DAG of another deploy source owns to this source (otherwise their files fail)")
  .action(async (dir: string, opts: { source?: string; takeover?: boolean }) => {
    const [{ bundleCacheDir, resolveConfig }, { openDatabase }, { deployDags }] = await Promise.all([import('../config.js'), import('../platform.js'), import('../deploy.js')]);
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

const db = program.command('db').description('Maintain the metadata database');

db.command('clean')
  .description(
    'Delete history older than --older-than, in batches that never block running work: ended runs (with their task instances, tries, XCom and logs, ' +
      'keeping the latest run of each DAG), logs, XCom (and their blobs under <home>/xcom), audit rows, import errors, stopped workers and schedulers, failed jobs. Prints one JSON line.',
  )
  .requiredOption('--older-than <age>', 'delete what is older than this: 30d, 12h, 90m', (value: string) => cliArgument(() => parseAge(value)))
  .option('--dag <dagId>', 'only the rows of this DAG (tables dag_run, task_log, xcom, audit_log)')
  .option('--tables <tables>', 'comma-separated tables: dag_run, task_log, xcom, audit_log, import_error, worker, scheduler, job (default: all)', (value: string) =>
    cliArgument(() => parseTables(value.split(',').map((t) => t.trim()))),
  )
  .option('--dry-run', 'count what would be deleted, delete nothing')
  .option('--no-keep-last', 'also delete the latest run of each DAG when it is old enough')
  .action(async (opts: { olderThan: number; dag?: string; tables?: RetentionTable[]; dryRun?: boolean; keepLast: boolean }) => {
    const [{ resolveConfig }, { openDatabase }, { cleanDatabase }, { defaultXComStore, sweepDeletedBlobs }, { coerceError }] = await Promise.all([
      import('../config.js'),
      import('../platform.js'),
      import('../retention/engine.js'),
      import('../xcom/values.js'),
      import('../errors.js'),
    ]);
    const config = resolveConfig();
    const database = await openDatabase(config);
    try {
      // The blobs of the XCom rows it deletes go before it exits, as the workers' passes do it:
      // after each batch, and once more at the end (which also takes any other blob already due).
      const store = defaultXComStore(config.home);
      const sweep = () => sweepDeletedBlobs(database.pool, store);
      const result = await cleanDatabase(database.pool, {
        olderThanMs: opts.olderThan,
        dagId: opts.dag,
        tables: opts.tables,
        dryRun: opts.dryRun ?? false,
        keepLastPerDag: opts.keepLast,
        batchSize: config.retention?.batchSize,
        trigger: 'cli',
        hooks: { afterXComDeleted: async () => void (await sweep()) },
      });
      const { passId, dryRun, deleted, blobs, batches, maxBatchMs, durationMs } = result;
      let error = result.error;
      if (!dryRun) {
        await sweep().catch((e: unknown) => {
          error ??= `deleting the blobs of the deleted XCom values from ${store.folder} failed (the workers' sweep will retry): ${coerceError(e).message}`;
        });
      }
      console.log(JSON.stringify(dryRun ? { dryRun, wouldDelete: deleted, blobs } : { dryRun, passId, deleted, blobs, batches, maxBatchMs, durationMs, error }));
      if (error) process.exitCode = 1;
    } finally {
      await database.close();
    }
  });

/** A value parsed by `parse`, whose TypeError becomes commander's "argument … is invalid. <message>". */
function cliArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

const dags = program.command('dags').description('List, trigger, test, pause and unpause DAGs');
const urlOption = '--url <url>';
const urlHelp = 'GraphQL endpoint of a running Updraft (default: the local database)';
const tokenOption = '--token <token>';
const tokenHelp = 'API token for --url (default: UPDRAFT_TOKEN)';

/** Options of commands that talk to the API: `--url`, and `--token` for it. */
interface RemoteOptions {
  url?: string;
  token?: string;
}

dags
  .command('list')
  .option(urlOption, urlHelp)
  .option(tokenOption, tokenHelp)
  .action(async (opts: RemoteOptions) =>
    withClient(opts, async (client) => {
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
  .option(tokenOption, tokenHelp)
  .action(async (dagId: string, opts: { conf: string; wait?: boolean } & RemoteOptions) => {
    const conf = parseConf(opts.conf);
    await withClient(opts, async (client) => {
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
  .command('backfill <dagId>')
  .description('Run the DAG for every interval of its schedule whose logical date lies in --from..--to (runs typed backfill)')
  .requiredOption('--from <date>', 'first logical date, ISO 8601 (e.g. 2026-01-01 or 2026-01-01T00:00:00Z; a date alone is UTC midnight)', isoDate)
  .requiredOption('--to <date>', 'last logical date (included)', isoDate)
  .option('--reprocess <which>', 'dates that already have a run: none (default), failed, or all', 'none')
  .option('--max-active-runs <n>', "most of its runs running at once (default: the DAG's maxActiveRuns)", integer)
  .option(urlOption, urlHelp)
  .option(tokenOption, tokenHelp)
  .action(async (dagId: string, opts: { from: Date; to: Date; reprocess: string; maxActiveRuns?: number } & RemoteOptions) => {
    const reprocess = opts.reprocess.toUpperCase();
    if (!['NONE', 'FAILED', 'ALL'].includes(reprocess)) throw new InvalidArgumentError(`--reprocess must be none, failed or all, got "${opts.reprocess}"`);
    await withClient(opts, async (client) => {
      const { backfill } = await client.request<{ backfill: { runsCreated: number; backfillId: string } }>(
        `mutation ($input: BackfillInput!) { backfill(input: $input) { runsCreated backfillId } }`,
        { input: { dagId, from: opts.from.toISOString(), to: opts.to.toISOString(), reprocess, maxActiveRuns: opts.maxActiveRuns ?? null } },
      );
      console.log(`Backfill ${backfill.backfillId} of ${dagId}: ${backfill.runsCreated} run(s) created (progress: query { backfill(id: "${backfill.backfillId}") { runsDone runsCreated } })`);
    });
  });

dags
  .command('test <dagId>')
  .description('Run one DAG run now with a worker in this process, printing each task as it ends; exit 1 unless the run succeeded')
  .option('--conf <json>', 'JSON object for the run', '{}')
  .action(async (dagId: string, opts: { conf: string }) => {
    const conf = parseConf(opts.conf);
    const [{ resolveConfig }, { processSecretKey }, { openDatabase }, { startWorker, workerSettings }, { triggerDagRun }] = await Promise.all([
      import('../config.js'),
      import('../secrets/key.js'),
      import('../platform.js'),
      import('../executor/worker.js'),
      import('../runs.js'),
    ]);
    await survivePromiseLeaks();
    const config = resolveConfig();
    const database = await openDatabase(config, { onWarning: warn });
    const worker = await startWorker({
      pool: database.pool,
      databaseUrl: database.url,
      ...workerSettings(config),
      retention: null, // a worker for one run carries no retention job
      secretKey: processSecretKey(config.home),
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
    .option(tokenOption, tokenHelp)
    .action(async (dagId: string, opts: RemoteOptions) =>
      withClient(opts, async (client) => {
        await client.request(`mutation ($input: SetDagPausedInput!) { setDagPaused(input: $input) { id paused } }`, { input: { dagId, paused } });
        console.log(`${dagId} is ${paused ? 'paused' : 'active'}`);
      }),
    );
}

const tokens = program.command('tokens').description('Create, list and revoke API tokens (admin)');
const ROLE_NAMES = ROLES.join(', ');

tokens
  .command('create')
  .description('Create an API token and print it once')
  .requiredOption('--role <role>', `what the token may do: ${ROLE_NAMES}`, (value: string) => {
    if (!isRole(value)) throw new InvalidArgumentError(`must be one of ${ROLE_NAMES}`);
    return value;
  })
  .option('--dags <ids>', 'limit the token to these DAG ids (comma-separated)', commaList)
  .option('--tags <tags>', 'limit the token to the DAGs with one of these tags (comma-separated)', commaList)
  .option('--expires <when>', 'when it stops working: a duration from now ("30d", "12h") or an ISO date (default never)', expiry)
  .option('--name <name>', 'shown in listings and the audit log')
  .option(urlOption, urlHelp)
  .option(tokenOption, tokenHelp)
  .action(async (opts: { role: Role; dags?: string[]; tags?: string[]; expires?: Date; name?: string } & RemoteOptions) =>
    withClient(opts, async (client) => {
      const { createApiToken } = await client.request<{ createApiToken: { token: string; apiToken: TokenRow } }>(
        `mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { ${TOKEN_FIELDS} } } }`,
        { input: { role: opts.role, dagIds: opts.dags, tags: opts.tags, expiresAt: opts.expires?.toISOString(), name: opts.name } },
      );
      const row = createApiToken.apiToken;
      console.error(`Created API token upd_${row.prefix}${row.name ? ` "${row.name}"` : ''}: role ${row.role}, ${grantsText(row)}, ${row.expiresAt ? `expires ${row.expiresAt}` : 'never expires'}.`);
      console.error('This is the only time the token is shown: store it now.');
      console.log(createApiToken.token);
    }),
  );

tokens
  .command('list')
  .description('List API tokens (never their secrets)')
  .option('--all', 'also list revoked tokens')
  .option(urlOption, urlHelp)
  .option(tokenOption, tokenHelp)
  .action(async (opts: { all?: boolean } & RemoteOptions) =>
    withClient(opts, async (client) => {
      const { apiTokens } = await client.request<{ apiTokens: { edges: Array<{ node: TokenRow }> } }>(
        `query ($all: Boolean) { apiTokens(first: 1000, includeRevoked: $all) { edges { node { ${TOKEN_FIELDS} } } } }`,
        { all: opts.all ?? false },
      );
      const rows = apiTokens.edges.map(({ node }) => [
        `upd_${node.prefix}`,
        node.name ?? '-',
        node.role,
        grantsText(node),
        node.status,
        node.expiresAt ?? '-',
        node.lastUsedAt ?? '-',
      ]);
      printTable(['token', 'name', 'role', 'dags', 'status', 'expires', 'last used'], rows);
    }),
  );

tokens
  .command('revoke <prefix>')
  .description('Revoke an API token by its prefix (upd_<prefix>): it is refused from now on')
  .option(urlOption, urlHelp)
  .option(tokenOption, tokenHelp)
  .action(async (prefix: string, opts: RemoteOptions) =>
    withClient(opts, async (client) => {
      const { revokeApiToken } = await client.request<{ revokeApiToken: TokenRow }>(
        `mutation ($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { ${TOKEN_FIELDS} } }`,
        { input: { prefix } },
      );
      console.log(`Revoked upd_${revokeApiToken.prefix}${revokeApiToken.name ? ` "${revokeApiToken.name}"` : ''} at ${revokeApiToken.revokedAt}`);
    }),
  );

addPoolCommands(program, {
  remote: (command) => command.option(urlOption, urlHelp).option(tokenOption, tokenHelp),
  withClient: (opts, fn) => withClient(opts as RemoteOptions, fn),
  printTable,
});

const TOKEN_FIELDS = 'prefix name role dagIds tags status expiresAt revokedAt lastUsedAt';

interface TokenRow {
  prefix: string;
  name: string | null;
  role: Role;
  dagIds: string[];
  tags: string[];
  status: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

function grantsText(token: { dagIds: string[]; tags: string[] }): string {
  const parts = [...(token.dagIds.length ? [`DAGs ${token.dagIds.join(',')}`] : []), ...(token.tags.length ? [`tags ${token.tags.join(',')}`] : [])];
  return parts.length ? parts.join(' + ') : 'every DAG';
}

function commaList(value: string): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new InvalidArgumentError('must be a comma-separated list without empty entries');
  return items;
}

function expiry(value: string): Date {
  const ms = durationMs(value as never);
  if (ms !== undefined) {
    if (ms <= 0) throw new InvalidArgumentError('must be a duration longer than 0');
    return new Date(Date.now() + ms);
  }
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('must be a duration such as "30d" or "12h", or an ISO date such as 2027-01-31');
  if (date.getTime() <= Date.now()) throw new InvalidArgumentError(`${value} is in the past`);
  return date;
}

function parseConf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`--conf is not valid JSON: ${(e as Error).message}`);
  }
}

async function withClient(opts: RemoteOptions, fn: (client: ApiClient) => Promise<void>) {
  // UPDRAFT_TOKEN goes with --url only: the local database needs none.
  const token = opts.token ?? (opts.url ? process.env.UPDRAFT_TOKEN || undefined : undefined);
  const [{ resolveConfig }, { connectClient }] = await Promise.all([import('../config.js'), import('./client.js')]);
  const client = await connectClient(resolveConfig(), opts.url, token);
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
  const [{ resolveConfig }, { processSecretKey }, { sql }, { startWorker, workerSettings }] = await Promise.all([
    import('../config.js'),
    import('../secrets/key.js'),
    import('../executor/sql.js'),
    import('../executor/worker.js'),
  ]);
  const config = resolveConfig();
  const [workers] = await sql<{ live: number }>(database.pool, 'count_live_workers', [config.lostWorkerTimeoutMs]);
  if (workers!.live > 0) return async () => {};
  console.error('No worker is running; running one in this process until the run ends.');
  await survivePromiseLeaks();
  // For this run only: no retention job.
  const worker = await startWorker({ pool: database.pool, databaseUrl: database.url, ...workerSettings(config), retention: null, secretKey: processSecretKey(config.home), onEvent: printEvent, onWarning: warn });
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
async function survivePromiseLeaks() {
  const { coerceError } = await import('../errors.js');
  process.on('unhandledRejection', (reason) => console.warn(`unhandled promise rejection (in task code?): ${coerceError(reason).stack}`));
}

/**
 * Waits for SIGINT/SIGTERM, then stops gracefully: running tries get `graceMs` to finish.
 * A second signal forces the stop. `firstSignal` is given when the handlers had to be in place
 * before the caller announced it was up (a signal before them would kill the process outright).
 */
async function stopOnSignals(graceMs: number, stop: (force: boolean) => Promise<void>, firstSignal = untilSignal()): Promise<void> {
  await firstSignal;
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

program.parseAsync().catch(async (e: unknown) => {
  const { coerceError } = await import('../errors.js');
  console.error(`updraft: ${coerceError(e).message}`);
  process.exit(1);
});
