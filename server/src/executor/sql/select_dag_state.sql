-- Whether a DAG may get a new run, and its newest version (which the run will use).
-- $1 dag id
SELECT d.paused, d.is_active, v.id AS dag_version_id
FROM dag d
LEFT JOIN LATERAL (SELECT id FROM dag_version WHERE dag_id = d.id ORDER BY version_number DESC LIMIT 1) v ON true
WHERE d.id = $1
