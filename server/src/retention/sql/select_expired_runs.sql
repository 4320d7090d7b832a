-- Runs past their retention, oldest id first: ended (`success`/`failed`; a queued or running
-- run is never chosen) before now minus their DAG's age. Keyset-paged by id.
-- $1 dag id (null: every DAG), $2 keep the latest run (highest id) of each DAG and its latest
-- scheduled run (the scheduler plans from it: select_last_scheduled_run.sql),
-- $3 age in seconds, $4 a DAG's own retention_days replaces $3, $5 after this run id, $6 limit
SELECT r.id
FROM dag_run r
JOIN dag d ON d.id = r.dag_id
WHERE r.id > $5 AND r.state IN ('success', 'failed') AND ($1::text IS NULL OR r.dag_id = $1)
  AND coalesce(r.ended_at, r.queued_at) < now() - make_interval(secs => CASE WHEN $4::boolean AND d.retention_days IS NOT NULL THEN d.retention_days * 86400.0 ELSE $3::float8 END)
  AND NOT ($2::boolean AND (r.id = (SELECT max(l.id) FROM dag_run l WHERE l.dag_id = r.dag_id)
    OR r.id = (SELECT l.id FROM dag_run l WHERE l.dag_id = r.dag_id AND l.run_type = 'scheduled' ORDER BY l.logical_date DESC LIMIT 1)))
ORDER BY r.id
LIMIT $6
