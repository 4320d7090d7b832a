-- Whether a DAG may get a new run, its newest version (which the run will use), and what a
-- run's data interval and state depend on. Locks the DAG's row: runs of one DAG are created
-- and started one transaction at a time, so that maxActiveRuns holds.
-- $1 dag id
SELECT d.paused, d.is_active, d.schedule, d.timezone, d.start_date, d.max_active_runs, v.id AS dag_version_id
FROM dag d
LEFT JOIN LATERAL (SELECT id FROM dag_version WHERE dag_id = d.id ORDER BY version_number DESC LIMIT 1) v ON true
WHERE d.id = $1
FOR NO KEY UPDATE OF d
