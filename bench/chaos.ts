// `npm run chaos -- --tasks N --workers W --kills K [--restart-db]`: the fault-injection harness.
//
// In a fresh temporary Updraft home (embedded PostgreSQL owned by a long-lived `updraft
// scheduler`), it deploys a DAG of N independent tasks that each append one row to a ledger
// table in a database of their own (bench/chaos-dag.ts), starts W `updraft worker`
// processes, triggers one run and, while it runs, SIGKILLs a worker K times (starting a
// replacement each time) and, with --restart-db, the postmaster once, leaving its restart to
// the platform. Then it prints ONE JSON line on stdout (progress goes to stderr) and exits 0
// only if the platform lost nothing, left nothing running, completed nothing twice, and
// recovered every killed worker's tries within the lost-worker timeout + 10 s.
//
// Kill k of K is due once k/(K+1) of the tasks succeeded (and ≥1 s after the previous one);
// its victim is a random live worker that holds tries of the run, so every kill strands work.
// The postmaster is killed once half the tasks succeeded.
//
// Definitions (ARCHITECTURE.md, "Fault injection", has the longer version):
//   completed              task instances of the run in state success
//   lost                   task instances not in state success at the end (N − completed)
//   duplicatedCompletions  task instances with more than one try in state success, or more
//                          than one `return_value` XCom row: must be 0 (exactly-once final state)
//   reExecutions           ledger idempotency keys with more than one row: task code ran (and
//                          committed its side effect) more than once for one task instance.
//                          Allowed (execution is at-least-once), reported
//   retriedTries           tries with try_number > 1
//   stuckRunning           task instances in state running, or with a try in state running,
//                          after the run ended (or at the timeout)
//   maxRecoveryMs          per killed worker: kill → the latest ended_at of the tries that worker
//                          held (its tries not ended before the kill); max over kills. null when
//                          one of them never ended; 0 when no kill caught a try
//   wallMs                 dag_run.ended_at − started_at (or trigger → timeout)
//   dbDownMs               (--restart-db) postmaster SIGKILL → the first new connection that answers
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { durationMs } from '../server/src/dags/duration.js';
import { CHAOS_DAG_ID, createLedger, writeChaosDag } from './chaos-dag.js';
import { readFinal, readProgress, runningTriesByWorker, type Final, type Kill, type Progress } from './chaos-metrics.js';
import {
  REPO_ROOT,
  childProcesses,
  stillRunning,
  type ProcessRef,
  readPostgresInfo,
  runUpdraft,
  sleep,
  spawnUpdraft,
  stopProcess,
  stopStrayPostmaster,
  tail,
  waitForLog,
  type UpdraftProcess,
} from './chaos-processes.js';
import { runWithCleanup, type Cleanup } from './cleanup.js';

interface Options {
  tasks: number;
  workers: number;
  kills: number;
  restartDb: boolean;
  concurrency: number;
  timeoutMs: number;
  lostWorkerTimeout: string;
  lostWorkerTimeoutMs: number;
  /** How long to wait for the database to answer after the postmaster was killed. */
  dbWaitMs: number;
  keepLogs: string | undefined;
}

const USAGE = `usage: npm run chaos -- [--tasks 100] [--workers 2] [--kills 0] [--restart-db]
       [--concurrency 8] [--timeout 10m] [--lost-worker-timeout 5s] [--db-wait 2m] [--keep-logs DIR]`;

/** Allowance on top of the lost-worker timeout for a killed worker's tries to be ended. */
const RECOVERY_SLACK_MS = 10_000;
/** Least time between two worker kills. */
const MIN_KILL_SPACING_MS = 1_000;

interface WorkerProcess extends UpdraftProcess {
  workerId: string | undefined;
  killedByUs: boolean;
}

interface DbRestart {
  dbKilled: boolean;
  postmasterPidBefore: number | null;
  postmasterPidAfter: number | null;
  /** Ms from the run's start to the postmaster kill. */
  dbKilledAtMs: number | null;
  dbDownMs: number | null;
}

async function main(cleanup: Cleanup): Promise<void> {
  const opts = parseOptions();
  const began = Date.now();
  const load1AtStart = Math.round(os.loadavg()[0]! * 10) / 10; // the machine is shared: read wallMs with it
  if (process.env.DATABASE_URL) log('DATABASE_URL is ignored: the harness runs its own embedded PostgreSQL (it kills it with --restart-db)');

  // A fresh home under the OS temp dir; as root the postgres OS user must be able to enter it.
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'updraft-chaos-'));
  cleanup.defer(`remove ${tmp}`, () => fs.rm(tmp, { recursive: true, force: true }));
  await fs.chmod(tmp, 0o711);
  const home = path.join(tmp, 'home');
  const logDir = path.join(tmp, 'logs');
  await fs.mkdir(logDir);
  if (opts.keepLogs) {
    const keep = path.resolve(opts.keepLogs);
    cleanup.defer(`copy the logs to ${keep}`, async () => {
      await fs.cp(logDir, keep, { recursive: true });
      log(`logs kept in ${keep}`);
    });
  }
  const env: NodeJS.ProcessEnv = { ...process.env, UPDRAFT_HOME: home, UPDRAFT_LOST_WORKER_TIMEOUT: opts.lostWorkerTimeout };
  delete env.DATABASE_URL;

  // The DAG folder lives inside the repository so that @updraft/sdk and pg resolve from it.
  const dagDir = path.join(REPO_ROOT, '.updraft', 'chaos', path.basename(tmp));
  cleanup.defer(`remove ${dagDir}`, async () => {
    await fs.rm(dagDir, { recursive: true, force: true });
    await fs.rmdir(path.dirname(dagDir)).catch(() => undefined); // only when no other chaos run uses it
  });
  await writeChaosDag(dagDir, opts.tasks);

  log(`home ${home}; starting \`updraft scheduler\` (it starts and owns the embedded PostgreSQL)`);
  cleanup.defer('stop a postmaster left running', () => stopStrayPostmaster(home));
  const scheduler = spawnUpdraft('scheduler', ['scheduler'], env, logDir);
  let finished = false;
  // On Ctrl-C the children get the signal too: their exits are then expected.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (finished = true));
  const unexpectedExits: Array<{ process: string; pid: number; code: number | null; signal: string | null; atMs: number }> = [];
  let runStartedAt = Date.now();
  const watchExit = (proc: UpdraftProcess, expected: () => boolean) =>
    void proc.exited.then((exit) => {
      if (finished || proc.stopRequested || expected()) return;
      unexpectedExits.push({ process: proc.name, pid: proc.pid, code: exit.code, signal: exit.signal, atMs: exit.at - runStartedAt });
      log(`${proc.name} (pid ${proc.pid}) exited on its own (${exit.signal ?? `code ${exit.code}`}); its log ends with:\n${tail(readLog(proc), 10)}`);
    });
  watchExit(scheduler, () => false);
  cleanup.defer('stop the scheduler', () => stopProcess(scheduler, 30_000));
  await waitForLog(scheduler, /Scheduler is running/i, 180_000);
  const postgres = readPostgresInfo(home);
  if (!postgres) throw new Error(`the scheduler is running but ${home}/postgres.json names no server`);
  log(`PostgreSQL pid ${postgres.pid} on port ${postgres.port}`);

  const db = quietPool(postgres.url);
  const ledger = await createLedger(postgres.url);
  const ledgerDb = quietPool(ledger.readUrl);
  cleanup.defer('close the database pools', async () => {
    await Promise.all([db.end(), ledgerDb.end()]);
  });

  log(`deploying ${opts.tasks} tasks`);
  const deploy = await runUpdraft(['deploy', dagDir, '--source', 'chaos'], env, 180_000);
  if (deploy.code !== 0) throw new Error(`updraft deploy failed (exit ${deploy.code}):\n${deploy.stdout}\n${deploy.stderr}`);

  const workers: WorkerProcess[] = [];
  cleanup.defer('stop the workers', async () => {
    await Promise.all(workers.map((w) => stopProcess(w, 20_000)));
  });
  let workerCount = 0;
  const startWorker = (): { proc: WorkerProcess; ready: Promise<unknown> } => {
    const proc = spawnUpdraft(`worker-${++workerCount}`, ['worker', '--concurrency', String(opts.concurrency)], env, logDir) as WorkerProcess;
    proc.workerId = undefined;
    proc.killedByUs = false;
    workers.push(proc);
    watchExit(proc, () => proc.killedByUs);
    const ready = waitForLog(proc, /Worker (\S+) is running/, 180_000).then((m) => (proc.workerId = m[1]));
    ready.catch(() => undefined);
    return { proc, ready };
  };
  log(`starting ${opts.workers} workers (concurrency ${opts.concurrency}, UPDRAFT_LOST_WORKER_TIMEOUT=${opts.lostWorkerTimeout})`);
  await Promise.all(Array.from({ length: opts.workers }, () => startWorker().ready));

  // Going on as soon as the run exists: the command may take a while longer to exit.
  const trigger = await runUpdraft(['dags', 'trigger', CHAOS_DAG_ID, '--conf', JSON.stringify({ ledgerUrl: ledger.taskUrl })], env, 120_000, /Triggered \S+ run (\d+)/);
  if (!trigger.match) throw new Error(`updraft dags trigger failed (exit ${trigger.code}):\n${trigger.stdout}\n${trigger.stderr}`);
  const runId = Number(trigger.match[1]);
  const printedAt = Date.now();
  void trigger.exited.then((r) => log(`(\`updraft dags trigger\` exited ${r.code === 0 ? 'normally' : `with code ${r.code}`} ${Date.now() - printedAt} ms after printing the run id)`));
  const started = await db.query<{ started_at: Date | null }>('SELECT started_at FROM dag_run WHERE id = $1', [runId]);
  runStartedAt = started.rows[0]?.started_at?.getTime() ?? Date.now();
  const deadline = runStartedAt + opts.timeoutMs;
  const killStep = opts.tasks / (opts.kills + 1);
  log(
    `run ${runId} triggered` +
      (opts.kills ? `; ${opts.kills} worker kills, one per ${Math.round(killStep)} successful tasks (≥${MIN_KILL_SPACING_MS / 1000} s apart), each of a live worker holding tries` : '') +
      (opts.restartDb ? '; the postmaster is killed once half the tasks succeeded' : ''),
  );

  const state = { done: false, timedOut: false, endedAt: 0, progress: undefined as Progress | undefined, giveUp: undefined as string | undefined };
  const kills: Kill[] = [];
  const orphanWatch: ProcessRef[] = [];
  cleanup.defer('kill task processes that outlived their killed worker', () => {
    for (const ref of orphanWatch.filter(stillRunning)) {
      try {
        process.kill(ref.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  });
  const dbRestart: DbRestart = { dbKilled: false, postmasterPidBefore: null, postmasterPidAfter: null, dbKilledAtMs: null, dbDownMs: null };
  const elapsed = () => `${((Date.now() - runStartedAt) / 1000).toFixed(1)} s`;

  async function watchRun(): Promise<void> {
    let lastLog = 0;
    let unreachableSince: number | undefined;
    for (;;) {
      try {
        const p = await readProgress(db, runId);
        if (unreachableSince !== undefined) log(`${elapsed()}: the metadata database answers again (unreachable for ${Date.now() - unreachableSince} ms)`);
        unreachableSince = undefined;
        state.progress = p;
        if (p.runState === 'success' || p.runState === 'failed') break;
      } catch (e) {
        if (unreachableSince === undefined) log(`${elapsed()}: the metadata database does not answer: ${(e as Error).message}`);
        unreachableSince ??= Date.now();
      }
      if (state.giveUp) break;
      if (Date.now() > deadline) {
        state.timedOut = true;
        log(`${elapsed()}: timed out (--timeout ${opts.timeoutMs} ms)`);
        break;
      }
      if (Date.now() - lastLog >= 2_000 && state.progress) {
        lastLog = Date.now();
        const p = state.progress;
        log(`${elapsed()}: run ${p.runState}: ${p.success}/${opts.tasks} success, ${p.running} running, ${p.pending} pending, ${p.unsuccessful} ended unsuccessfully; kills ${kills.length}/${opts.kills}`);
      }
      await sleep(200);
    }
    state.done = true;
    state.endedAt = Date.now();
  }

  /**
   * Kill k (1…K) is due once k/(K+1) of the tasks succeeded, and at least
   * MIN_KILL_SPACING_MS after the previous kill: spread over the run's work whatever its
   * speed (a time-based schedule, from an estimate of the run's duration, bunched all kills
   * into the warm-up on a loaded machine). The victim is a random live worker holding tries.
   */
  async function killWorkers(): Promise<void> {
    let lastKill = -Infinity;
    for (let k = 1; k <= opts.kills; k++) {
      for (;;) {
        if (state.done) return;
        if ((state.progress?.success ?? 0) >= k * killStep && Date.now() >= lastKill + MIN_KILL_SPACING_MS) break;
        await sleep(50);
      }
      let victim: WorkerProcess | undefined;
      let holding = 0;
      // Only while work remains: wait until a live worker holds a try (after a kill, the
      // remaining work may be only the dead worker's tries, until they are recovered).
      while (!state.done && !victim) {
        const byWorker = await runningTriesByWorker(db, runId).catch(() => undefined);
        const candidates = workers.filter((w) => !w.exit && !w.killedByUs && w.workerId && (byWorker?.get(w.workerId) ?? 0) > 0);
        victim = candidates[Math.floor(Math.random() * candidates.length)];
        if (victim) holding = byWorker!.get(victim.workerId!)!;
        else await sleep(100);
      }
      if (!victim) return;
      victim.killedByUs = true;
      orphanWatch.push(...childProcesses(victim.pid)); // its task processes, which should die with it
      lastKill = Date.now();
      kills.push({ pid: victim.pid, workerId: victim.workerId, at: lastKill, runningTriesBefore: holding });
      victim.child.kill('SIGKILL');
      log(`${elapsed()}: SIGKILL ${victim.name} (pid ${victim.pid}, worker ${victim.workerId}, holding ${holding} tries); starting a replacement`);
      startWorker();
    }
  }

  /** Kills the postmaster once half the tasks succeeded, then waits for the platform to bring it back. */
  async function killPostgres(): Promise<void> {
    while (!state.done && (state.progress?.success ?? 0) < opts.tasks / 2) await sleep(50);
    if (state.done) return;
    const before = readPostgresInfo(home);
    if (!before) throw new Error(`${home}/postgres.json names no server`);
    dbRestart.postmasterPidBefore = before.pid;
    const killedAt = Date.now();
    process.kill(before.pid, 'SIGKILL');
    dbRestart.dbKilled = true;
    dbRestart.dbKilledAtMs = killedAt - runStartedAt;
    log(`${elapsed()}: SIGKILL the postmaster (pid ${before.pid}); waiting for the platform to restart it`);
    for (;;) {
      const url = readPostgresInfo(home)?.url ?? before.url;
      if (await answers(url)) break;
      if (Date.now() - killedAt > opts.dbWaitMs || Date.now() > deadline) {
        state.giveUp = `the database did not answer within ${opts.dbWaitMs} ms of the postmaster kill`;
        log(`${elapsed()}: ${state.giveUp}; giving up (the run cannot go on without it)`);
        return;
      }
      await sleep(100);
    }
    dbRestart.dbDownMs = Date.now() - killedAt;
    // The supervisor rewrites postgres.json once the new postmaster is up, maybe just after it answers.
    let after = readPostgresInfo(home);
    for (const until = Date.now() + 10_000; (!after || after.pid === before.pid) && Date.now() < until; after = readPostgresInfo(home)) await sleep(100);
    dbRestart.postmasterPidAfter = after && after.pid !== before.pid ? after.pid : null;
    if (dbRestart.postmasterPidAfter === null) log(`${elapsed()}: ${home}/postgres.json still does not name the new postmaster 10 s after it answered`);
    log(`${elapsed()}: the database answers again after ${dbRestart.dbDownMs} ms (postmaster pid ${after?.pid ?? 'unknown'}${after && after.port !== before.port ? `, NEW port ${after.port}` : ''})`);
  }

  await Promise.all([watchRun(), killWorkers(), opts.restartDb ? killPostgres() : Promise.resolve()]);
  finished = true;
  const p = state.progress;
  log(`${elapsed()}: run ${p?.runState ?? 'unknown'}${state.timedOut ? ' (timed out)' : ''}${state.giveUp ? ` (gave up: ${state.giveUp})` : ''}; reading the outcome`);

  let final: Final | undefined;
  for (let attempt = 0; !final; attempt++) {
    try {
      final = await readFinal(db, ledgerDb, { runId, tasks: opts.tasks, triggeredAt: runStartedAt, endedAt: state.endedAt, timedOut: state.timedOut, kills });
    } catch (e) {
      if (attempt >= 20) {
        log(`cannot read the outcome: ${(e as Error).message}`);
        break;
      }
      await sleep(1_000);
    }
  }

  // Task processes of killed workers should exit on their own once their worker is gone.
  const orphans = orphanWatch.filter(stillRunning);
  if (orphans.length) log(`${orphans.length} task process(es) of killed workers still run: ${orphans.map((o) => o.pid).join(', ')}`);
  const base = {
    load1AtStart,
    orphanedTaskProcesses: orphans.length,
    lostWorkerTimeout: opts.lostWorkerTimeout,
    lostWorkerTimeoutMs: opts.lostWorkerTimeoutMs,
    workers: opts.workers,
    concurrency: opts.concurrency,
    killsPlanned: opts.kills,
    ...(opts.restartDb ? dbRestart : {}),
    unexpectedExits,
    ...(state.giveUp ? { gaveUp: state.giveUp } : {}),
    harnessMs: Date.now() - began,
  };
  let report: Record<string, unknown>;
  let pass: boolean;
  if (final) {
    pass =
      final.lost === 0 &&
      final.stuckRunning === 0 &&
      final.duplicatedCompletions === 0 &&
      final.maxRecoveryMs !== null &&
      final.maxRecoveryMs <= opts.lostWorkerTimeoutMs + RECOVERY_SLACK_MS;
    const { recoveries, ...rest } = final;
    report = { ...rest, pass, ...base, recoveryMs: recoveries.map((r) => r.recoveryMs), killDetails: recoveries };
  } else {
    // The database is gone: report the last look at the run, which cannot be a pass.
    pass = false;
    report = {
      tasks: opts.tasks,
      completed: p?.success ?? 0,
      lost: opts.tasks - (p?.success ?? 0),
      duplicatedCompletions: null,
      retriedTries: null,
      stuckRunning: p?.running ?? null,
      wallMs: state.endedAt - runStartedAt,
      maxRecoveryMs: null,
      pass,
      runState: p?.runState ?? null,
      timedOut: state.timedOut,
      kills: kills.length,
      metrics: 'the database did not answer at the end: the last progress seen before it went away',
      ...base,
    };
  }
  if (kills.length < opts.kills) log(`only ${kills.length} of ${opts.kills} kills happened before the run ended`);
  if (!pass) log(`FAIL; the scheduler's log ends with:\n${tail(readLog(scheduler), 15)}`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exitCode = pass ? 0 : 1;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '100' },
      workers: { type: 'string', default: '2' },
      kills: { type: 'string', default: '0' },
      'restart-db': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '8' },
      timeout: { type: 'string', default: '10m' },
      'lost-worker-timeout': { type: 'string', default: '5s' },
      'db-wait': { type: 'string', default: '2m' },
      'keep-logs': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  const whole = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) usageError(`--${name} must be a whole number ≥ ${min}, got ${text}`);
    return n;
  };
  const duration = (name: string, text: string) => {
    const ms = durationMs(/^\d+$/.test(text) ? Number(text) : (text as `${number}s`));
    if (ms === undefined) usageError(`--${name} must be a duration like 5s, 2m or milliseconds, got ${text}`);
    return ms!;
  };
  return {
    tasks: whole('tasks', values.tasks, 1),
    workers: whole('workers', values.workers, 1),
    kills: whole('kills', values.kills, 0),
    restartDb: values['restart-db'],
    concurrency: whole('concurrency', values.concurrency, 1),
    timeoutMs: duration('timeout', values.timeout),
    lostWorkerTimeout: values['lost-worker-timeout'],
    lostWorkerTimeoutMs: duration('lost-worker-timeout', values['lost-worker-timeout']),
    dbWaitMs: duration('db-wait', values['db-wait']),
    keepLogs: values['keep-logs'],
  };
}

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** A pool that survives the database going away: errors fail the query at hand, nothing else. */
function quietPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** True when a new connection to `url` runs a query within a second. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function readLog(proc: UpdraftProcess): string {
  try {
    return readFileSync(proc.logFile, 'utf8');
  } catch {
    return '';
  }
}

function log(message: string): void {
  console.error(`[chaos] ${message}`);
}

await runWithCleanup(async (cleanup) => {
  try {
    await main(cleanup);
  } catch (e) {
    // Still one JSON line on stdout, so that a caller parsing it learns why there is no verdict.
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    throw e;
  }
});
