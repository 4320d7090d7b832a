-- Deletes up to $2 log lines of tries chosen by select_expired_tries.sql, in one statement,
-- locking the lines FOR UPDATE SKIP LOCKED and their run FOR SHARE SKIP LOCKED (never waiting),
-- and only while that run is still ended.
-- $1 try ids, $2 batch size
WITH doomed AS (
  SELECT l.id
  FROM task_log l
  JOIN task_try t ON t.id = l.task_try_id
  JOIN task_instance ti ON ti.id = t.task_instance_id
  JOIN dag_run r ON r.id = ti.dag_run_id
  WHERE l.task_try_id = ANY($1::bigint[]) AND r.state IN ('success', 'failed')
  LIMIT $2
  FOR UPDATE OF l SKIP LOCKED
  FOR SHARE OF r SKIP LOCKED
)
DELETE FROM task_log USING doomed WHERE task_log.id = doomed.id
RETURNING 1
