-- How many audit rows delete_audit_logs.sql would delete (a dry run); same parameters but the batch size.
SELECT count(*)::int AS n FROM audit_log a LEFT JOIN dag d ON d.id = a.dag_id
WHERE ($1::text IS NULL OR a.dag_id = $1)
  AND a.at < now() - make_interval(secs => CASE WHEN $3::boolean AND d.retention_days IS NOT NULL THEN d.retention_days * 86400.0 ELSE $2::float8 END)
