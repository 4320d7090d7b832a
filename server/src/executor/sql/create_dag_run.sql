-- Creates a running DagRun on the given DAG version. Idempotent per (dag, logical date):
-- no row when a run for that logical date exists, so schedulers may race. The NOT EXISTS
-- spares the id sequence: a conflicting INSERT would still draw an id.
-- $1 dag id, $2 run type, $3 conf (json text), $4 logical date (null: now), $5 dag version id,
-- $6 params (json text, null: the DAG has no params schema)
WITH at AS (
  SELECT clock_timestamp() AS now, coalesce($4::timestamptz, clock_timestamp()) AS logical_date
)
INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end, conf, params, queued_at, started_at)
SELECT $1, $5, $2 || '__' || to_char(at.logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), $2::"DagRunType", 'running',
       at.logical_date, at.logical_date, at.logical_date, $3::jsonb, $6::jsonb, at.now, at.now
FROM at
WHERE NOT EXISTS (SELECT 1 FROM dag_run WHERE dag_id = $1 AND logical_date = at.logical_date)
ON CONFLICT (dag_id, logical_date) DO NOTHING
RETURNING id, dag_version_id
