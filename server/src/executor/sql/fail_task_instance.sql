-- Fails a task instance that could not start (a mapped task whose lists cannot be mapped)
-- with a try that records the error, so that the reason shows like any other failure's.
-- $1 task instance id, $2 error json
WITH ti AS (
  UPDATE task_instance
  SET state = 'failed', try_number = try_number + 1, started_at = clock_timestamp(), ended_at = clock_timestamp()
  WHERE id = $1 AND state IN ('none', 'scheduled')
  RETURNING id, try_number, started_at
)
INSERT INTO task_try (task_instance_id, try_number, state, started_at, ended_at, error)
SELECT id, try_number, 'failed', started_at, started_at, $2::jsonb FROM ti
RETURNING task_instance_id::text, try_number
