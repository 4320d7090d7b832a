-- When a task instance's first try started: a sensor's timeout counts from its first check.
-- $1 task instance id
SELECT min(started_at) AS started_at FROM task_try WHERE task_instance_id = $1
