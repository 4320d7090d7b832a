-- Runs of a DAG running now outside backfills (what maxActiveRuns limits).
-- $1 dag id
SELECT count(*)::int AS running FROM dag_run WHERE dag_id = $1 AND state = 'running' AND backfill_id IS NULL
