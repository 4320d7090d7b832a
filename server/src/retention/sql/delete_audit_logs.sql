-- Deletes up to $4 audit rows past their retention (a row about a DAG follows that DAG's own
-- retention_days), oldest first, locked FOR UPDATE SKIP LOCKED.
-- $1 dag id (null: every row), $2 age in seconds, $3 a DAG's own retention_days replaces $2, $4 batch size
WITH doomed AS (
  SELECT a.id FROM audit_log a LEFT JOIN dag d ON d.id = a.dag_id
  WHERE ($1::text IS NULL OR a.dag_id = $1)
    AND a.at < now() - make_interval(secs => CASE WHEN $3::boolean AND d.retention_days IS NOT NULL THEN d.retention_days * 86400.0 ELSE $2::float8 END)
  ORDER BY a.at
  LIMIT $4
  FOR UPDATE OF a SKIP LOCKED
)
DELETE FROM audit_log USING doomed WHERE audit_log.id = doomed.id
RETURNING 1
