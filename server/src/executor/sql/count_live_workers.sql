-- Workers that have not stopped and whose heartbeat is recent (the same timeout as recovery).
-- $1 heartbeat timeout in milliseconds
SELECT count(*)::int AS live
FROM worker
WHERE stopped_at IS NULL AND last_heartbeat_at >= now() - make_interval(secs => $1::float8 / 1000)
