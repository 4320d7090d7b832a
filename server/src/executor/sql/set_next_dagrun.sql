-- Moves a DAG's scheduler cursor: the next scheduled run's data interval (null: no more
-- runs). Unchanged values write nothing, so that no DAG-list notification is sent.
-- $1 dag id, $2 interval start (the logical date), $3 interval end (when it is due)
UPDATE dag SET next_run_planned = true, next_dagrun = $2, next_data_interval_start = $2, next_data_interval_end = $3, next_dagrun_create_after = $3
WHERE id = $1 AND (next_run_planned, next_dagrun, next_data_interval_end) IS DISTINCT FROM (true, $2::timestamptz, $3::timestamptz)
