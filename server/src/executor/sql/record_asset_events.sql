-- Records one event per asset (a successful try's outlets, or a post through the API) and
-- queues it for every active DAG scheduled on the asset, in the caller's transaction; the
-- scheduler is woken with the COMMIT (NOTIFY updraft_asset) when some DAG got a queued event.
-- Unknown URIs are created when $8 (a task's outlets: a deploy normally created them already)
-- and skipped otherwise (a post names an asset that must exist).
-- $1 asset uris[], $2 extra (json text), $3 source dag id, $4 source dag run id,
-- $5 source task id, $6 source map index, $7 created by (an audit actor), $8 create missing assets
WITH missing AS (
  INSERT INTO asset (uri)
  SELECT u FROM unnest($1::text[]) AS u WHERE $8::boolean AND NOT EXISTS (SELECT 1 FROM asset WHERE uri = u)
  ON CONFLICT (uri) DO UPDATE SET uri = excluded.uri
  RETURNING id, uri
), target AS (
  SELECT id, uri FROM asset WHERE uri = ANY($1::text[])
  UNION
  SELECT id, uri FROM missing
), event AS (
  INSERT INTO asset_event (asset_id, extra, source_dag_id, source_dag_run_id, source_task_id, source_map_index, created_by)
  SELECT id, $2::jsonb, $3, $4, $5, $6, $7 FROM target ORDER BY id
  RETURNING id, asset_id
), queued AS (
  INSERT INTO asset_dag_run_queue (dag_id, asset_event_id, asset_id)
  SELECT c.dag_id, e.id, e.asset_id
  FROM event e JOIN dag_schedule_asset c ON c.asset_id = e.asset_id
  JOIN dag d ON d.id = c.dag_id AND d.is_active -- a retired DAG would only pile them up; a paused one gets them
  RETURNING dag_id
), woken AS (
  SELECT pg_notify('updraft_asset', '') FROM (SELECT 1 FROM queued LIMIT 1) q
)
SELECT e.id::text, t.uri, (SELECT count(*)::int FROM woken) AS notified
FROM event e JOIN target t ON t.id = e.asset_id
ORDER BY e.id
