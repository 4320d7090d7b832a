-- $1 dag run id, $2 task ids, $3 max tries
INSERT INTO task_instance (dag_run_id, task_id, max_tries)
SELECT $1, t.task_id, t.max_tries
FROM unnest($2::text[], $3::int[]) AS t(task_id, max_tries)
RETURNING id::text, task_id, map_index
