-- Deletes up to $2 of the log lines
-- of runs chosen by select_expired_runs.sql,
-- in one statement (one short transaction). The rows are locked FOR UPDATE SKIP LOCKED and the
-- run FOR SHARE SKIP LOCKED, so this never waits for the executor or an operator, and a run
-- that is no longer ended (cleared meanwhile) is left alone; what it skips waits for the next pass.
-- $1 run ids, $2 batch size
WITH doomed AS (
  SELECT l.id
  FROM dag_run r
  JOIN task_instance ti ON ti.dag_run_id = r.id
  JOIN task_try t ON t.task_instance_id = ti.id JOIN task_log l ON l.task_try_id = t.id
  WHERE r.id = ANY($1::int[]) AND r.state IN ('success', 'failed')
  LIMIT $2
  FOR UPDATE OF l SKIP LOCKED
  FOR SHARE OF r SKIP LOCKED
)
DELETE FROM task_log USING doomed WHERE task_log.id = doomed.id
RETURNING 1
