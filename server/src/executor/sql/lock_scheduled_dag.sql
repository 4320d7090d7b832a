-- Locks a scheduled DAG for a scheduler to create its due runs, unless another scheduler
-- holds it (that one creates them). No row: locked, paused, retired or no longer scheduled.
-- $1 dag id
SELECT id, schedule, timezone, start_date, end_date, catchup, created_at, next_run_planned,
       next_data_interval_start, next_data_interval_end
FROM dag
WHERE id = $1 AND schedule IS NOT NULL AND is_active AND NOT paused
FOR NO KEY UPDATE SKIP LOCKED
