-- Cancels a run: it fails now, and its task instances that have not started never do
-- (skipped; their jobs find nothing to claim). Running tries are stopped by their workers at
-- the next heartbeat (heartbeat_worker.sql) and recorded `failed` with `RunCancelled`.
-- Task instances are updated before the run, as everywhere (the count in the WHERE makes
-- the instances' update run first).
-- $1 dag run id
WITH skipped AS (
  UPDATE task_instance SET state = 'skipped', ended_at = clock_timestamp(), next_try_at = NULL
  WHERE dag_run_id = $1 AND state IN ('none', 'scheduled', 'queued', 'up_for_retry', 'up_for_reschedule')
  RETURNING id
)
UPDATE dag_run r SET state = 'failed', ended_at = clock_timestamp()
WHERE r.id = $1 AND r.state IN ('queued', 'running') AND (SELECT count(*) FROM skipped) >= 0
RETURNING r.id
