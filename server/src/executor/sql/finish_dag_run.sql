-- Ends a running DagRun once no task instance can still run. Airflow's leaf rule: failed
-- when a leaf task failed or could not run because an upstream failed, success otherwise;
-- with the DAG's failRunOnAnyFailure, failed when any task instance failed (an `all_done`
-- leaf would otherwise hide the failure).
-- $1 dag run id, $2 leaf task ids, $3 fail on any failure
UPDATE dag_run r
SET state = CASE WHEN EXISTS (
      SELECT 1 FROM task_instance
      WHERE dag_run_id = r.id AND (
        (task_id = ANY($2::text[]) AND state IN ('failed', 'upstream_failed'))
        OR ($3::boolean AND state = 'failed')
      )
    ) THEN 'failed'::"DagRunState" ELSE 'success'::"DagRunState" END,
    ended_at = clock_timestamp()
WHERE r.id = $1 AND r.state = 'running' AND NOT EXISTS (
  SELECT 1 FROM task_instance
  WHERE dag_run_id = r.id AND state IN ('none', 'scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule')
)
RETURNING state, dag_id
