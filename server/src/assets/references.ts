// What a deploy tells the asset tables: the assets its DAGs name (tasks' outlets, asset
// schedules) exist, and which DAGs consume which asset (dag_schedule_asset), so that an
// event is queued for exactly the DAGs whose schedule names its asset.
import type { DagStructure } from '../dags/structure.js';
import type { Db } from '../db/prisma.js';
import { conditionUris } from './condition.js';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * In the deploy's transaction: creates the assets `structures` name and replaces each DAG's
 * schedule references. Events queued for a DAG on an asset its new schedule no longer names
 * are dropped (they could never count).
 */
export async function syncAssetReferences(tx: Tx, structures: DagStructure[]): Promise<void> {
  if (structures.length === 0) return;
  const named = new Set<string>();
  for (const s of structures) {
    if (s.assetSchedule) conditionUris(s.assetSchedule).forEach((uri) => named.add(uri));
    for (const t of s.tasks) t.outlets?.forEach((uri) => named.add(uri));
  }
  if (named.size > 0) {
    await tx.$executeRaw`INSERT INTO asset (uri) SELECT u FROM unnest(${[...named].sort()}::text[]) AS u ON CONFLICT (uri) DO NOTHING`;
  }
  const dagIds = structures.map((s) => s.id);
  const pairs = structures.flatMap((s) => (s.assetSchedule ? conditionUris(s.assetSchedule).map((uri) => [s.id, uri] as const) : []));
  await tx.$executeRaw`
    DELETE FROM dag_schedule_asset r
    WHERE r.dag_id = ANY(${dagIds}::text[])
      AND NOT EXISTS (SELECT 1 FROM asset a, unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) AS p(dag_id, uri)
                      WHERE a.uri = p.uri AND a.id = r.asset_id AND p.dag_id = r.dag_id)`;
  if (pairs.length > 0) {
    await tx.$executeRaw`
      INSERT INTO dag_schedule_asset (dag_id, asset_id)
      SELECT p.dag_id, a.id FROM unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]) AS p(dag_id, uri) JOIN asset a ON a.uri = p.uri
      ON CONFLICT DO NOTHING`;
  }
  await tx.$executeRaw`
    DELETE FROM asset_dag_run_queue q
    WHERE q.dag_id = ANY(${dagIds}::text[])
      AND NOT EXISTS (SELECT 1 FROM dag_schedule_asset r WHERE r.dag_id = q.dag_id AND r.asset_id = q.asset_id)`;
}
