-- $1 heartbeat timeout in milliseconds
UPDATE worker SET stopped_at = now()
WHERE stopped_at IS NULL AND last_heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)
RETURNING id
