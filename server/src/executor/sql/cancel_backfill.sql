-- Cancels a backfill: its queued runs are then cancelled one by one (cancel_dag_run.sql).
-- Returns its queued runs; no row at all when it does not exist.
-- $1 backfill id
WITH b AS (
  UPDATE backfill SET cancelled_at = coalesce(cancelled_at, clock_timestamp()) WHERE id = $1 RETURNING id, dag_id
)
SELECT b.dag_id, r.id AS dag_run_id
FROM b LEFT JOIN dag_run r ON r.backfill_id = b.id AND r.state = 'queued'
