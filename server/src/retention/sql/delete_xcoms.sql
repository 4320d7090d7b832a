-- Deletes XCom values chosen by select_expired_xcoms.sql (at most one batch of ids), locking
-- them FOR UPDATE SKIP LOCKED and their run FOR SHARE SKIP LOCKED (never waiting), and only
-- while that run is still ended. Returns what it deleted (with the blob key of a value in the
-- object store), for the object store's sweep.
-- $1 xcom ids
WITH doomed AS (
  SELECT x.id, x.task_instance_id, x.key, x.blob_key
  FROM xcom x
  JOIN task_instance ti ON ti.id = x.task_instance_id
  JOIN dag_run r ON r.id = ti.dag_run_id
  WHERE x.id = ANY($1::bigint[]) AND r.state IN ('success', 'failed')
  FOR UPDATE OF x SKIP LOCKED
  FOR SHARE OF r SKIP LOCKED
)
DELETE FROM xcom USING doomed WHERE xcom.id = doomed.id
RETURNING doomed.id::text, doomed.task_instance_id::text, doomed.key, doomed.blob_key
