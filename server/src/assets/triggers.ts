// Asset-triggered runs: the scheduler's side of assets. Events queued for a DAG
// (asset_dag_run_queue, written with each event) become one `asset_triggered` run as soon as
// the DAG's condition holds on the queued events' assets; the run consumes every queued
// event of the DAG in its own creating transaction, so an event is consumed once whatever
// the number of schedulers, and never lost: a scheduler that dies before COMMIT consumed nothing.
import type { Pool } from 'pg';
import { loadStructure } from '../dags/versions.js';
import { coerceError, UpdraftError } from '../errors.js';
import { sql } from '../executor/sql.js';
import type { LiveUpdates, WatchedEvent } from '../live/live-updates.js';
import { inTransaction } from '../db/transaction.js';
import { RunChanges } from '../live/notifications.js';
import { insertDagRun } from '../runs.js';
import { conditionHolds, type AssetConditionSpec } from './condition.js';

/** DAGs looked at per pass; more wait for the next pass, which follows at once. */
const DAGS_PER_PASS = 100;

/** The events were consumed by another scheduler between the look and the run's creation. */
class AlreadyConsumed extends Error {}

/** A run created for assets. */
export interface AssetTriggeredRun {
  dagId: string;
  dagRunId: number;
}

/**
 * Creates an asset-triggered run for every active, unpaused DAG whose asset condition holds
 * on its queued events. Returns the runs it created; `more` when DAGS_PER_PASS were looked at
 * (call again).
 */
export async function createAssetTriggeredRuns(pool: Pool, onWarning?: (message: string) => void): Promise<{ runs: AssetTriggeredRun[]; more: boolean }> {
  const queued = await sql<{ dag_id: string; uris: string[]; dag_version_id: number }>(pool, 'select_asset_queue', [DAGS_PER_PASS]);
  const runs: AssetTriggeredRun[] = [];
  for (const row of queued) {
    try {
      const { assetSchedule } = await loadStructure(pool, row.dag_version_id);
      if (!assetSchedule || !conditionHolds(assetSchedule, new Set(row.uris))) continue;
      const dagRunId = await createAssetTriggeredRun(pool, row.dag_id, assetSchedule);
      if (dagRunId !== null) runs.push({ dagId: row.dag_id, dagRunId });
    } catch (e) {
      onWarning?.(`asset-triggered run of DAG "${row.dag_id}": ${coerceError(e).message}`);
    }
  }
  return { runs, more: queued.length === DAGS_PER_PASS };
}

/**
 * One run consuming the DAG's queued events, in one transaction, or null when another
 * scheduler consumed them first (insertDagRun locks the DAG's row, so the second waits for the
 * first's COMMIT and then finds the queue rows gone).
 */
async function createAssetTriggeredRun(pool: Pool, dagId: string, condition: AssetConditionSpec): Promise<number | null> {
  let changes = new RunChanges();
  try {
    return await inTransaction(
      pool,
      async (client) => {
        changes = new RunChanges();
        const run = await insertDagRun(client, { dagId, runType: 'asset_triggered', logicalDate: null, conf: {} }, changes);
        if (!run) return null;
        const consumed = await sql<{ uri: string }>(client, 'consume_asset_queue', [dagId, run.id]);
        if (!conditionHolds(condition, new Set(consumed.map((r) => r.uri)))) throw new AlreadyConsumed();
        return run.id;
      },
      () => changes.notifications(),
    );
  } catch (e) {
    if (e instanceof AlreadyConsumed) return null;
    throw e;
  }
}

/** Longest wait between two passes when no notification comes (a lost NOTIFY, a DAG unpaused elsewhere). */
const FALLBACK_PASS_MS = 30_000;

export interface AssetTriggers {
  stop(): Promise<void>;
}

/**
 * The scheduler's asset loop: a pass at start, then one whenever an asset event was queued
 * (NOTIFY updraft_asset, heard through `live.watch` on the process's LISTEN connection), the
 * DAG list changed (an unpause, a deploy) or the connection was re-established, and at least
 * every 30 s. Without `live` it passes every `pollMs` (default 2 s).
 */
export function startAssetTriggers(opts: {
  pool: Pool;
  live?: LiveUpdates;
  pollMs?: number;
  onRun?: (run: AssetTriggeredRun) => void;
  onWarning?: (message: string) => void;
}): AssetTriggers {
  let stopped = false;
  let heard = false;
  let wake: () => void = () => {};
  let unwatch: (() => void) | undefined;
  const onEvent = (event: WatchedEvent) => {
    if (event.kind === 'dags' && event.n.dags?.length === 0) return; // import errors only
    if (event.kind !== 'assets' && event.kind !== 'dags' && event.kind !== 'resync') return;
    heard = true;
    wake();
  };
  const waitMs = opts.live ? FALLBACK_PASS_MS : (opts.pollMs ?? 2_000);
  const loop = (async () => {
    while (!stopped) {
      if (opts.live && !unwatch) {
        unwatch = await opts.live.watch(onEvent).catch((e: unknown) => {
          // A server shutting down closes its live updates before its scheduler: nothing to report.
          if (!(e instanceof UpdraftError && e.code === 'SERVICE_UNAVAILABLE')) {
            opts.onWarning?.(`asset triggers: cannot listen for asset events (${coerceError(e).message}); looking every ${FALLBACK_PASS_MS / 1000} s`);
          }
          return undefined;
        });
      }
      heard = false; // what was heard so far is covered by this pass
      let more = false;
      try {
        const pass = await createAssetTriggeredRuns(opts.pool, opts.onWarning);
        pass.runs.forEach((run) => opts.onRun?.(run));
        more = pass.more;
      } catch (e) {
        opts.onWarning?.(`asset triggers: ${coerceError(e).message}`);
      }
      if (more || heard || stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
      unwatch?.();
    },
  };
}
