-- Locks task instances in id order (so concurrent changers cannot deadlock) and turns task
-- ids into row ids, before they are changed (transitions.ts, skipTasks).
-- $1 dag run id, $2 task ids
SELECT id::text, task_id
FROM task_instance
WHERE dag_run_id = $1 AND task_id = ANY($2::text[]) AND map_index = -1
ORDER BY id
FOR UPDATE
