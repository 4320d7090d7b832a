import type { ClientBase, Pool } from 'pg';
import { sql } from './sql.js';

/** What the claim statement returns: the try and everything needed to run it. */
export interface Claim {
  task_instance_id: string;
  dag_run_id: number;
  task_id: string;
  map_index: number;
  /** A mapped instance's item (its first argument): plain JSON, or devalue text in `map_item_serialized`. */
  map_item: unknown;
  map_item_serialized: string | null;
  try_number: number;
  max_tries: number;
  try_id: string;
  dag_id: string;
  run_id: string;
  run_type: string;
  logical_date: Date;
  /** Null only for runs created before data intervals existed. */
  data_interval_start: Date | null;
  data_interval_end: Date | null;
  conf: Record<string, unknown>;
  params: Record<string, unknown>;
  dag_version_id: number;
  bundle_hash: string;
}

/** Claims task instances for a worker: each one's claim at its index, null when it is not runnable (claim_task_instances.sql). */
export async function claimTaskInstances(db: Pool | ClientBase, workerId: string, wanted: Array<{ taskInstanceId: string; jobId: string | null }>): Promise<Array<Claim | null>> {
  // A duplicate job of an instance claimed in the same batch gets nothing.
  const first = new Map<string, { taskInstanceId: string; jobId: string | null }>();
  for (const w of wanted) if (!first.has(w.taskInstanceId)) first.set(w.taskInstanceId, w);
  const unique = [...first.values()];
  const rows = await sql<Claim>(db, 'claim_task_instances', [unique.map((w) => w.taskInstanceId), workerId, unique.map((w) => w.jobId)]);
  const claims = new Map(rows.map((row) => [row.task_instance_id, row]));
  return wanted.map((w) => (first.get(w.taskInstanceId) === w ? (claims.get(w.taskInstanceId) ?? null) : null));
}
