-- Deletes up to $2 schedulers that stopped longer ago than their retention, oldest first, locked FOR UPDATE SKIP LOCKED.
-- $1 age in seconds, $2 batch size
WITH doomed AS (
  SELECT scheduler.id FROM scheduler
  WHERE stopped_at < now() - make_interval(secs => $1::float8)
  ORDER BY stopped_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM scheduler USING doomed WHERE scheduler.id = doomed.id
RETURNING 1
