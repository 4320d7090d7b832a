-- Marks a run `success` (every task instance not yet `success` becomes `success`) or
-- `failed` (running instances fail, those that have not started are skipped), as
-- Airflow's "mark run as" does. Running tries are stopped by their workers at the next
-- heartbeat. Task instances are updated before the run (the count in the WHERE makes the
-- instances' update run first).
-- $1 dag run id, $2 'success' or 'failed'
WITH marked AS (
  UPDATE task_instance
  SET state = CASE WHEN $2 = 'success' THEN 'success' WHEN state = 'running' THEN 'failed' ELSE 'skipped' END::"TaskInstanceState",
      ended_at = clock_timestamp(), next_try_at = NULL
  WHERE dag_run_id = $1 AND (
    ($2 = 'success' AND state <> 'success')
    OR ($2 = 'failed' AND state IN ('none', 'scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule'))
  )
  RETURNING id
)
UPDATE dag_run SET state = $2::"DagRunState", ended_at = clock_timestamp()
WHERE id = $1 AND (SELECT count(*) FROM marked) >= 0
RETURNING id
