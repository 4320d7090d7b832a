-- A mapped upstream expanded into more than one instance: its downstream instances (locked
-- first, lock_task_instances.sql) wait for that many more upstream outcomes.
-- $1 task instance ids, $2 instances added
UPDATE task_instance SET upstream_extra_count = upstream_extra_count + $2
WHERE id = ANY($1::bigint[])
