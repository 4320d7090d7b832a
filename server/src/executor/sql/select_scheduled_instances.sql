-- The next instances of a mapped task that wait for a slot (maxActiveTisPerTask), in
-- map_index order, locked; instances another finisher is taking are passed over.
-- $1 dag run id, $2 task id, $3 how many
SELECT id::text
FROM task_instance
WHERE dag_run_id = $1 AND state = 'scheduled' AND task_id = $2 AND map_index >= 0
ORDER BY map_index
LIMIT $3
FOR UPDATE SKIP LOCKED
