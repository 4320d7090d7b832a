-- A scheduler's heartbeat (its first one registers it): it is alive, or, with $4, stopping.
-- $1 scheduler id, $2 hostname, $3 pid, $4 stopping
INSERT INTO scheduler (id, hostname, pid, stopped_at) VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN now() END)
ON CONFLICT (id) DO UPDATE SET last_heartbeat_at = now(), stopped_at = EXCLUDED.stopped_at
