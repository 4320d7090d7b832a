-- How many rows delete_schedulers.sql would delete (a dry run).
-- $1 age in seconds
SELECT count(*)::int AS n FROM scheduler
WHERE stopped_at < now() - make_interval(secs => $1::float8)
