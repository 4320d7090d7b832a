// Asset events: what records that an asset was updated. A successful try of a task with
// outlets records them in its finishing transaction (executor/transitions.ts), so an event
// exists exactly when the success does; the API and the webhook post them by hand.
import type { ClientBase, Pool } from 'pg';
import { assetUriProblem } from '@updraft/sdk';
import { badInput, notFound } from '../errors.js';
import { sql } from '../executor/sql.js';
import { checkConf } from '../runs.js';

/** An event as recorded: its id (BIGINT, as text) and its asset's URI. */
export interface RecordedAssetEvent {
  id: string;
  uri: string;
}

/**
 * Records the events of a successful try (one per outlet) in the try's finishing
 * transaction, queues them for the DAGs scheduled on those assets and wakes the scheduler
 * with the COMMIT.
 */
export async function recordTaskAssetEvents(
  client: ClientBase,
  source: { dagId: string; dagRunId: number; taskId: string; mapIndex: number; outlets: string[] },
): Promise<RecordedAssetEvent[]> {
  return sql<RecordedAssetEvent>(client, 'record_asset_events', [source.outlets, '{}', source.dagId, source.dagRunId, source.taskId, source.mapIndex, null, true]);
}

/** What `createAssetEvent` and `POST /api/assets/events` take. */
export interface AssetEventInput {
  /** The asset's URI; it must exist (a deployed DAG names it). */
  uri: string;
  /** A JSON object said about the update (Airflow's `extra`). Default `{}`. */
  extra?: unknown;
}

/**
 * Records an event posted by `actor` (an audit actor) for an existing asset; NOT_FOUND when
 * no deployed DAG has named the asset, BAD_USER_INPUT for a malformed URI or extra.
 */
export async function postAssetEvent(pool: Pool, input: AssetEventInput, actor: string): Promise<RecordedAssetEvent> {
  checkAssetUri(input.uri);
  const extra = input.extra ?? {};
  checkConf(extra, 'extra');
  const [event] = await sql<RecordedAssetEvent>(pool, 'record_asset_events', [[input.uri], JSON.stringify(extra), null, null, null, null, actor, false]);
  if (!event) throw notFound(`Asset ${JSON.stringify(input.uri.slice(0, 200))} does not exist: an asset exists once a deployed DAG names it (a task's outlets, a DAG's schedule)`);
  return event;
}

/** Refuses a URI that cannot name an asset (BAD_USER_INPUT), before PostgreSQL sees it. */
export function checkAssetUri(uri: string): void {
  const problem = assetUriProblem(uri);
  if (problem) throw badInput(problem);
}
