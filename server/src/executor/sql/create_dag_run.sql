-- $1 dag id, $2 run type, $3 conf (json text), $4 run id prefix
WITH version AS (
  SELECT id FROM dag_version WHERE dag_id = $1 ORDER BY version_number DESC LIMIT 1
), now AS (
  SELECT clock_timestamp() AS at
)
INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end, conf, queued_at, started_at)
SELECT $1, version.id, $4 || '__' || to_char(now.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), $2::"DagRunType", 'running',
       now.at, now.at, now.at, $3::jsonb, now.at, now.at
FROM version, now
RETURNING id, dag_version_id
