-- How many rows delete_import_errors.sql would delete (a dry run).
-- $1 age in seconds
SELECT count(*)::int AS n FROM import_error
WHERE created_at < now() - make_interval(secs => $1::float8)
