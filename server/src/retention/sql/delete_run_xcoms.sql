-- Deletes up to $2 of the XCom values
-- of runs chosen by select_expired_runs.sql,
-- in one statement (one short transaction). The rows are locked FOR UPDATE SKIP LOCKED and the
-- run FOR SHARE SKIP LOCKED, so this never waits for the executor or an operator, and a run
-- that is no longer ended (cleared meanwhile) is left alone; what it skips waits for the next pass.
-- Keyset-paged by id from the last row deleted, so a batch never walks again over the dead
-- index entries of the batches before it.
-- $1 run ids, $2 batch size, $3 after this id
WITH doomed AS (
  SELECT x.id, x.task_instance_id, x.key, x.blob_key
  FROM dag_run r
  JOIN task_instance ti ON ti.dag_run_id = r.id
  JOIN xcom x ON x.task_instance_id = ti.id
  WHERE r.id = ANY($1::int[]) AND x.id > $3::bigint AND r.state IN ('success', 'failed')
  ORDER BY x.id
  LIMIT $2
  FOR UPDATE OF x SKIP LOCKED
  FOR SHARE OF r SKIP LOCKED
)
DELETE FROM xcom USING doomed WHERE xcom.id = doomed.id
RETURNING doomed.id::text, doomed.task_instance_id::text, doomed.key, doomed.blob_key
