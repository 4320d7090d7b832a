-- Ends a running DagRun once no task instance can still run: failed when a leaf task
-- failed or could not run because an upstream failed, success otherwise.
-- $1 dag run id, $2 leaf task ids
UPDATE dag_run r
SET state = CASE WHEN EXISTS (
      SELECT 1 FROM task_instance
      WHERE dag_run_id = r.id AND task_id = ANY($2::text[]) AND state IN ('failed', 'upstream_failed')
    ) THEN 'failed'::"DagRunState" ELSE 'success'::"DagRunState" END,
    ended_at = clock_timestamp()
WHERE r.id = $1 AND r.state = 'running' AND NOT EXISTS (
  SELECT 1 FROM task_instance
  WHERE dag_run_id = r.id AND state IN ('none', 'scheduled', 'queued', 'running', 'up_for_retry')
)
RETURNING state
