-- Deletes up to $2 log lines of tries chosen by select_expired_tries.sql (or select_run_tries.sql),
-- in one statement, locking the lines FOR UPDATE SKIP LOCKED and their run FOR SHARE SKIP LOCKED
-- (never waiting), and only while that run is still ended. Keyset-paged on the
-- (task_try_id, seq) index from the last line deleted: a batch never walks again over the
-- index entries of lines deleted by the batches before it (dead until vacuum).
-- $1 try ids, $2 batch size, $3 after this try id, $4 and this seq
WITH doomed AS (
  SELECT l.id, l.task_try_id, l.seq
  FROM task_log l
  JOIN task_try t ON t.id = l.task_try_id
  JOIN task_instance ti ON ti.id = t.task_instance_id
  JOIN dag_run r ON r.id = ti.dag_run_id
  WHERE l.task_try_id = ANY($1::bigint[]) AND (l.task_try_id, l.seq) > ($3::bigint, $4::int) AND r.state IN ('success', 'failed')
  ORDER BY l.task_try_id, l.seq
  LIMIT $2
  FOR UPDATE OF l SKIP LOCKED
  FOR SHARE OF r SKIP LOCKED
)
DELETE FROM task_log USING doomed WHERE task_log.id = doomed.id
RETURNING doomed.task_try_id::text, doomed.seq
