-- Deletes up to $2 graphile-worker jobs that failed for good (no attempt left; jobs that
-- succeed are deleted by graphile-worker itself) and last changed before their retention,
-- oldest first, locked FOR UPDATE SKIP LOCKED (a locked job is being worked on).
-- $1 age in seconds, $2 batch size
WITH doomed AS (
  SELECT id FROM graphile_worker._private_jobs
  WHERE attempts >= max_attempts AND locked_at IS NULL AND updated_at < now() - make_interval(secs => $1::float8)
  ORDER BY updated_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM graphile_worker._private_jobs j USING doomed WHERE j.id = doomed.id
RETURNING 1
