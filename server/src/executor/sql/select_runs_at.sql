-- A DAG's runs at these logical dates (what a backfill finds already there).
-- $1 dag id, $2 logical dates
SELECT id, logical_date, state FROM dag_run WHERE dag_id = $1 AND logical_date = ANY($2::timestamptz[])
