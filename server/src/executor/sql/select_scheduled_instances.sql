-- The next instance of a mapped task that waits for a slot (maxActiveTisPerTask), locked;
-- one another finisher is taking is passed over, and so is one already enqueued that waits,
-- gated, for its pool's admission (executor/capacity.ts). Instances are enqueued in map_index order,
-- so every waiting one comes after the instance that just ended: the scan starts there, on
-- the (dag_run_id, task_id, map_index) key, instead of at the task's first instance.
-- $1 dag run id, $2 task id, $3 map index of the instance that ended
SELECT id::text, task_id, map_index, try_number
FROM task_instance
WHERE dag_run_id = $1 AND task_id = $2 AND map_index > $3 AND state = 'scheduled' AND NOT gated
ORDER BY map_index
LIMIT 1
FOR UPDATE SKIP LOCKED
