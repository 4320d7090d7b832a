-- Deletes chosen runs whose task instances are all gone (delete_run_task_instances.sql ran
-- first, so the cascade has nothing left to do and takes no other lock); a run still ended,
-- locked FOR UPDATE SKIP LOCKED: one in use is left for the next pass.
-- $1 run ids
WITH doomed AS (
  SELECT r.id FROM dag_run r
  WHERE r.id = ANY($1::int[]) AND r.state IN ('success', 'failed')
    AND NOT EXISTS (SELECT 1 FROM task_instance ti WHERE ti.dag_run_id = r.id)
  FOR UPDATE OF r SKIP LOCKED
)
DELETE FROM dag_run USING doomed WHERE dag_run.id = doomed.id
RETURNING 1
