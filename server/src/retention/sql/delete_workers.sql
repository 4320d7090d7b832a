-- Deletes up to $2 workers that stopped (or were declared lost) longer ago than their retention; a live worker has no stopped_at,
-- oldest first, locked FOR UPDATE SKIP LOCKED.
-- $1 age in seconds, $2 batch size
WITH doomed AS (
  SELECT worker.id FROM worker
  WHERE stopped_at < now() - make_interval(secs => $1::float8)
  ORDER BY stopped_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM worker USING doomed WHERE worker.id = doomed.id
RETURNING 1
