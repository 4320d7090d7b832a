-- $1 dag run id, $2 task ids
SELECT task_id, state FROM task_instance WHERE dag_run_id = $1 AND task_id = ANY($2::text[])
