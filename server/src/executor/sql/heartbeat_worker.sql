-- $1 worker id, $2 stopping
UPDATE worker SET last_heartbeat_at = now(), stopped_at = CASE WHEN $2::boolean THEN now() END WHERE id = $1
