// What bench/chaos.ts reads from the metadata database and the ledger while a run goes on and
// after it ended, and how it turns that into its verdict.
import type pg from 'pg';

/** A look at the run while it goes on. */
export interface Progress {
  runState: string;
  success: number;
  running: number;
  /** Not started yet, queued, or waiting for a retry. */
  pending: number;
  /** Ended without success (failed, upstream_failed, skipped, removed). */
  unsuccessful: number;
}

export async function readProgress(db: pg.Pool, runId: number): Promise<Progress> {
  const { rows } = await db.query<Progress>(
    `SELECT r.state::text AS "runState",
            count(ti.id) FILTER (WHERE ti.state = 'success')::int AS success,
            count(ti.id) FILTER (WHERE ti.state = 'running')::int AS running,
            count(ti.id) FILTER (WHERE ti.state IN ('none', 'scheduled', 'queued', 'up_for_retry'))::int AS pending,
            count(ti.id) FILTER (WHERE ti.state IN ('failed', 'upstream_failed', 'skipped', 'removed'))::int AS unsuccessful
     FROM dag_run r LEFT JOIN task_instance ti ON ti.dag_run_id = r.id
     WHERE r.id = $1 GROUP BY r.state`,
    [runId],
  );
  if (!rows[0]) throw new Error(`DagRun ${runId} does not exist`);
  return rows[0];
}

/** Running tries of the run, per worker id. */
export async function runningTriesByWorker(db: pg.Pool, runId: number): Promise<Map<string, number>> {
  const { rows } = await db.query<{ worker_id: string | null; n: number }>(
    `SELECT tt.worker_id, count(*)::int AS n
     FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id
     WHERE ti.dag_run_id = $1 AND tt.state = 'running'
     GROUP BY tt.worker_id`,
    [runId],
  );
  return new Map(rows.map((r) => [r.worker_id ?? '', r.n]));
}

/** A worker this harness SIGKILLed. */
export interface Kill {
  pid: number;
  /** From the worker's "Worker <id> is running" line; undefined if it was killed before printing it. */
  workerId: string | undefined;
  /** Date.now() just before the SIGKILL. */
  at: number;
  /** Running tries the database showed for it just before the kill. */
  runningTriesBefore: number;
}

export interface KillRecovery {
  pid: number;
  workerId: string | null;
  /** Ms from the run's trigger to the kill. */
  atMs: number;
  /** Tries of that worker not ended before the kill (those it held when it died). */
  heldTries: number;
  /** Kill → the last of those tries ended; null if one is still not ended, or none was held. */
  recoveryMs: number | null;
  /** Error names the held tries ended with. */
  endedWith: Record<string, number>;
}

export interface Final {
  tasks: number;
  completed: number;
  lost: number;
  duplicatedCompletions: number;
  retriedTries: number;
  stuckRunning: number;
  wallMs: number;
  maxRecoveryMs: number | null;
  runState: string;
  timedOut: boolean;
  taskInstances: number;
  taskInstanceStates: Record<string, number>;
  stuckRunningInstances: number;
  stuckRunningTries: number;
  tries: number;
  tryErrors: Record<string, number>;
  kills: number;
  recoveries: KillRecovery[];
  unrecoveredKills: number;
  /**
   * For tries ended as WorkerLost (WorkerLostError before) whose worker never heartbeated
   * again: their end − the worker's last heartbeat (how long recovery let it be silent).
   */
  maxSilenceBeforeLostMs: number | null;
  /** Tries ended as WorkerLost although their worker heartbeated afterwards (it was alive: a false alarm). */
  lostTriesOfLiveWorkers: number;
  /** The worker ids of those tries. */
  liveWorkersDeclaredLost: string[];
  /** Where the tasks got their ledger keys: the platform's context().idempotencyKey (`dag/run/task`) or the harness's fallback. */
  idempotencyKeys: string | null;
  ledgerRows: number;
  ledgerKeys: number;
  reExecutions: number;
  /** Ledger rows written by a try of a killed worker after the kill (its task code outlived it). */
  ledgerWritesAfterKill: number;
  /** The latest of those, after the kill (a few ms: an insert already in flight; more: task code outlived its worker). */
  maxLedgerWriteAfterKillMs: number | null;
  /** Task instances in state success with no ledger row (their code's effect is missing). */
  successWithoutLedgerRow: number;
}

/** Everything the verdict needs, read once the run ended (or the harness gave up). */
export async function readFinal(
  db: pg.Pool,
  ledger: pg.Pool,
  opts: { runId: number; tasks: number; triggeredAt: number; endedAt: number; timedOut: boolean; kills: Kill[] },
): Promise<Final> {
  const { runId } = opts;
  const [run] = (
    await db.query<{ state: string; dag_id: string; run_id: string; started_at: Date | null; ended_at: Date | null }>(
      'SELECT state::text, dag_id, run_id, started_at, ended_at FROM dag_run WHERE id = $1',
      [runId],
    )
  ).rows;
  if (!run) throw new Error(`DagRun ${runId} does not exist`);
  const instances = (
    await db.query<{ task_id: string; state: string; tries: number; success_tries: number; running_tries: number; return_values: number }>(
      `SELECT ti.task_id, ti.state::text,
              (SELECT count(*) FROM task_try tt WHERE tt.task_instance_id = ti.id)::int AS tries,
              (SELECT count(*) FROM task_try tt WHERE tt.task_instance_id = ti.id AND tt.state = 'success')::int AS success_tries,
              (SELECT count(*) FROM task_try tt WHERE tt.task_instance_id = ti.id AND tt.state = 'running')::int AS running_tries,
              (SELECT count(*) FROM xcom x WHERE x.task_instance_id = ti.id AND x.key = 'return_value')::int AS return_values
       FROM task_instance ti WHERE ti.dag_run_id = $1`,
      [runId],
    )
  ).rows;
  const tries = (
    await db.query<{ task_id: string; try_number: number; state: string; worker_id: string | null; ended_at: Date | null; error_name: string | null; last_heartbeat_at: Date | null }>(
      `SELECT ti.task_id, tt.try_number, tt.state::text, tt.worker_id, tt.ended_at, tt.error->>'name' AS error_name, w.last_heartbeat_at
       FROM task_try tt JOIN task_instance ti ON ti.id = tt.task_instance_id LEFT JOIN worker w ON w.id = tt.worker_id
       WHERE ti.dag_run_id = $1`,
      [runId],
    )
  ).rows;
  const workers = (await db.query<{ id: string; pid: number; started_at: Date }>('SELECT id, pid, started_at FROM worker')).rows;
  const ledgerRows = (
    await ledger.query<{ task_id: string; try_number: number; idempotency_key: string; at: Date }>(
      'SELECT task_id, try_number, idempotency_key, at FROM ledger WHERE run_id = $1',
      [run.run_id],
    )
  ).rows;

  const states = count(instances.map((ti) => ti.state));
  const completed = states.success ?? 0;
  const stuck = instances.filter((ti) => ti.state === 'running' || ti.running_tries > 0).length;
  const perKey = count(ledgerRows.map((r) => r.idempotency_key));
  const ledgerTasks = new Set(ledgerRows.map((r) => r.task_id));

  const recoveries = opts.kills.map((kill): KillRecovery => {
    // The id the worker printed; else the newest worker row with its pid started before the kill.
    const workerId =
      kill.workerId ??
      workers
        .filter((w) => w.pid === kill.pid && w.started_at.getTime() <= kill.at)
        .sort((a, b) => b.started_at.getTime() - a.started_at.getTime())[0]?.id ??
      null;
    const held = workerId === null ? [] : tries.filter((t) => t.worker_id === workerId && (t.ended_at === null || t.ended_at.getTime() >= kill.at));
    const unrecovered = held.some((t) => t.ended_at === null);
    const lastEnd = Math.max(...held.map((t) => t.ended_at?.getTime() ?? 0));
    return {
      pid: kill.pid,
      workerId,
      atMs: kill.at - opts.triggeredAt,
      heldTries: held.length,
      recoveryMs: held.length === 0 || unrecovered ? null : lastEnd - kill.at,
      endedWith: count(held.map((t) => (t.ended_at === null ? 'still running' : (t.error_name ?? t.state)))),
    };
  });
  // Ledger rows written by a try after its worker was SIGKILLed: task code outlived its worker.
  const killedAt = new Map(recoveries.filter((r) => r.workerId).map((r) => [r.workerId!, opts.triggeredAt + r.atMs]));
  const tryWorker = new Map(tries.map((t) => [`${t.task_id}#${t.try_number}`, t.worker_id]));
  const writeDelays = ledgerRows.flatMap((r) => {
    const worker = tryWorker.get(`${r.task_id}#${r.try_number}`);
    const killed = worker ? killedAt.get(worker) : undefined;
    return killed !== undefined && r.at.getTime() > killed ? [r.at.getTime() - killed] : [];
  });
  const unrecoveredKills = recoveries.filter((r) => r.heldTries > 0 && r.recoveryMs === null).length;
  const recovered = recoveries.filter((r) => r.recoveryMs !== null).map((r) => r.recoveryMs!);
  // A worker's last heartbeat after the end of a try recovery declared lost: it was alive.
  const lostTries = tries.filter((t) => /^WorkerLost/.test(t.error_name ?? '') && t.ended_at && t.last_heartbeat_at);
  const lostOfLiveWorkers = lostTries.filter((t) => t.last_heartbeat_at!.getTime() > t.ended_at!.getTime());
  const silences = lostTries.filter((t) => !lostOfLiveWorkers.includes(t)).map((t) => t.ended_at!.getTime() - t.last_heartbeat_at!.getTime());

  return {
    tasks: opts.tasks,
    completed,
    lost: opts.tasks - completed,
    duplicatedCompletions: instances.filter((ti) => ti.success_tries > 1 || ti.return_values > 1).length,
    retriedTries: tries.filter((t) => t.try_number > 1).length,
    stuckRunning: stuck,
    wallMs: run.started_at && run.ended_at ? run.ended_at.getTime() - run.started_at.getTime() : opts.endedAt - opts.triggeredAt,
    maxRecoveryMs: unrecoveredKills > 0 ? null : recovered.length ? Math.max(...recovered) : 0,
    runState: run.state,
    timedOut: opts.timedOut,
    taskInstances: instances.length,
    taskInstanceStates: states,
    stuckRunningInstances: instances.filter((ti) => ti.state === 'running').length,
    stuckRunningTries: tries.filter((t) => t.state === 'running').length,
    tries: tries.length,
    tryErrors: count(tries.filter((t) => t.error_name).map((t) => t.error_name!)),
    kills: opts.kills.length,
    recoveries,
    unrecoveredKills,
    maxSilenceBeforeLostMs: silences.length ? Math.max(...silences) : null,
    lostTriesOfLiveWorkers: lostOfLiveWorkers.length,
    liveWorkersDeclaredLost: [...new Set(lostOfLiveWorkers.map((t) => t.worker_id!))],
    idempotencyKeys: ledgerRows.length === 0 ? null : ledgerRows.every((r) => r.idempotency_key.startsWith(`${run.dag_id}/`)) ? 'context().idempotencyKey' : 'fallback runId/taskId',
    ledgerRows: ledgerRows.length,
    ledgerKeys: Object.keys(perKey).length,
    reExecutions: Object.values(perKey).filter((n) => n > 1).length,
    ledgerWritesAfterKill: writeDelays.length,
    maxLedgerWriteAfterKillMs: writeDelays.length ? Math.max(...writeDelays) : null,
    successWithoutLedgerRow: instances.filter((ti) => ti.state === 'success' && !ledgerTasks.has(ti.task_id)).length,
  };
}

function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
