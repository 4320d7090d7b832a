-- Deletes up to $2 import errors past their retention (a DAG file's error from a deploy that was never followed by another deploy of its source),
-- oldest first, locked FOR UPDATE SKIP LOCKED.
-- $1 age in seconds, $2 batch size
WITH doomed AS (
  SELECT import_error.id FROM import_error
  WHERE created_at < now() - make_interval(secs => $1::float8)
  ORDER BY created_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM import_error USING doomed WHERE import_error.id = doomed.id
RETURNING 1
