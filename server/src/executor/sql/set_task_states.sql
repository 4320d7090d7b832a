-- Ends task instances that will not run (upstream_failed, skipped) and returns them.
-- $1 task instance ids, $2 state
UPDATE task_instance SET state = $2::"TaskInstanceState", ended_at = clock_timestamp()
WHERE id = ANY($1::bigint[]) AND state IN ('none', 'scheduled')
RETURNING id::text, task_id, map_index, try_number
