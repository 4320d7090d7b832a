-- Sets task instances' state by hand (mark success / failed). A running instance's try is
-- stopped by its worker at the next heartbeat (heartbeat_worker.sql), and its outcome is
-- then not recorded over the mark.
-- $1 task instance ids, $2 state
UPDATE task_instance SET state = $2::"TaskInstanceState", ended_at = clock_timestamp(), next_try_at = NULL
WHERE id = ANY($1::bigint[]) AND state <> $2::"TaskInstanceState"
RETURNING id::text, task_id, map_index, try_number
