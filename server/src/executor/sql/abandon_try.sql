-- The last resort for a try that cannot be finished normally (its DAG structure cannot be
-- read, or every finishing transaction fails): ends the try and its task instance
-- `failed` and fails the run, so that nothing is left `running`. Task instances are
-- updated before the run, as everywhere (ARCHITECTURE.md, "Counting, and locking").
-- Tells live subscribers (updraft_run). No row: the try was no longer running.
-- $1 try id, $2 error json
WITH try AS (
  UPDATE task_try SET state = 'failed', ended_at = clock_timestamp(), error = $2::jsonb
  WHERE id = $1 AND state = 'running'
  RETURNING task_instance_id, ended_at
), ti AS (
  UPDATE task_instance ti SET state = 'failed', ended_at = try.ended_at, next_try_at = NULL
  FROM try
  WHERE ti.id = try.task_instance_id AND ti.state = 'running'
  RETURNING ti.id, ti.dag_run_id, ti.task_id, ti.map_index, ti.try_number
), run AS (
  UPDATE dag_run r SET state = 'failed', ended_at = clock_timestamp()
  FROM ti
  WHERE r.id = ti.dag_run_id AND r.state = 'running'
  RETURNING r.id
)
SELECT ti.dag_run_id, pg_notify('updraft_run', json_build_object(
         'run', ti.dag_run_id, 'state', (SELECT 'failed' FROM run), 'tis', json_build_array(json_build_array(ti.id::text, ti.task_id, ti.map_index, 'failed', ti.try_number))
       )::text) IS NULL AS notified
FROM ti
