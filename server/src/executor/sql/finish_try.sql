-- Ends a running try and moves its task instance to its next state.
-- No row: the try was no longer running (finished elsewhere).
-- $1 try id, $2 try state, $3 error json, $4 task instance state, $5 next try at
WITH try AS (
  UPDATE task_try SET state = $2::"TaskInstanceState", ended_at = clock_timestamp(), error = $3::jsonb
  WHERE id = $1 AND state = 'running'
  RETURNING task_instance_id, ended_at
)
UPDATE task_instance ti
SET state = $4::"TaskInstanceState", ended_at = CASE WHEN $4::"TaskInstanceState" = 'up_for_retry' THEN NULL ELSE try.ended_at END, next_try_at = $5::timestamptz
FROM try
WHERE ti.id = try.task_instance_id AND ti.state = 'running'
RETURNING ti.id::text
