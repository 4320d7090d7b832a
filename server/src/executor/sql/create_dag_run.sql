-- Creates a running DagRun on the DAG's newest version. Idempotent per (dag, logical
-- date): no row when a run for that logical date exists, so schedulers may race. The
-- NOT EXISTS spares the id sequence: a conflicting INSERT would still draw an id.
-- $1 dag id, $2 run type, $3 conf (json text), $4 logical date (null: now)
WITH version AS (
  SELECT id FROM dag_version WHERE dag_id = $1 ORDER BY version_number DESC LIMIT 1
), at AS (
  SELECT clock_timestamp() AS now, coalesce($4::timestamptz, clock_timestamp()) AS logical_date
)
INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end, conf, queued_at, started_at)
SELECT $1, version.id, $2 || '__' || to_char(at.logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), $2::"DagRunType", 'running',
       at.logical_date, at.logical_date, at.logical_date, $3::jsonb, at.now, at.now
FROM version, at
WHERE NOT EXISTS (SELECT 1 FROM dag_run WHERE dag_id = $1 AND logical_date = at.logical_date)
ON CONFLICT (dag_id, logical_date) DO NOTHING
RETURNING id, dag_version_id
