-- How many rows delete_workers.sql would delete (a dry run).
-- $1 age in seconds
SELECT count(*)::int AS n FROM worker
WHERE stopped_at < now() - make_interval(secs => $1::float8)
