-- How many rows delete_jobs.sql would delete (a dry run).
-- $1 age in seconds
SELECT count(*)::int AS n FROM graphile_worker._private_jobs
WHERE attempts >= max_attempts AND locked_at IS NULL AND updated_at < now() - make_interval(secs => $1::float8)
