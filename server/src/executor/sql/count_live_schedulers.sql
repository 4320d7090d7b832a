-- Schedulers that have not stopped and whose heartbeat is recent (the same timeout as a
-- worker's, count_live_workers.sql), and the latest heartbeat of any scheduler.
-- $1 heartbeat timeout in milliseconds
SELECT count(*) FILTER (WHERE stopped_at IS NULL AND last_heartbeat_at >= now() - make_interval(secs => $1::float8 / 1000))::int AS live,
  max(last_heartbeat_at) AS latest_heartbeat_at
FROM scheduler
