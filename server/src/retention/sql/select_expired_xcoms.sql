-- XCom values past their retention (by when they were stored), in ended runs other than the
-- latest of their DAG: a running run's values may still be read downstream. Keyset-paged by id.
-- $1 dag id (null: every DAG), $2 keep the latest run (highest id) and the latest scheduled run of each DAG, $3 age in seconds,
-- $4 a DAG's own retention_days replaces $3, $5 after this XCom id, $6 limit
SELECT x.id::text, ti.dag_run_id, x.blob_key IS NOT NULL AS has_blob
FROM xcom x
JOIN task_instance ti ON ti.id = x.task_instance_id
JOIN dag_run r ON r.id = ti.dag_run_id
JOIN dag d ON d.id = r.dag_id
WHERE x.id > $5::bigint AND r.state IN ('success', 'failed') AND ($1::text IS NULL OR r.dag_id = $1)
  AND x.created_at < now() - make_interval(secs => CASE WHEN $4::boolean AND d.retention_days IS NOT NULL THEN d.retention_days * 86400.0 ELSE $3::float8 END)
  AND NOT ($2::boolean AND (r.id = (SELECT max(l.id) FROM dag_run l WHERE l.dag_id = r.dag_id)
    OR r.id = (SELECT l.id FROM dag_run l WHERE l.dag_id = r.dag_id AND l.run_type = 'scheduled' ORDER BY l.logical_date DESC LIMIT 1)))
ORDER BY x.id
LIMIT $6
