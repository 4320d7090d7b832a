-- Every task instance of a run, locked in id order (a backfill clears them to run the run again).
-- $1 dag run id
SELECT id::text, task_id FROM task_instance WHERE dag_run_id = $1 ORDER BY id FOR UPDATE
