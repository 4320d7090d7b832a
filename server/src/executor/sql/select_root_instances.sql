-- The task instances of a run that start when the run starts (roots), not started yet.
-- $1 dag run id, $2 root task ids
SELECT id::text, task_id, map_index FROM task_instance
WHERE dag_run_id = $1 AND task_id = ANY($2::text[]) AND state = 'none'
ORDER BY id
