-- A worker's heartbeat: it is alive, and holds these tries and graphile-worker job slots.
-- $1 worker id, $2 stopping, $3 running try ids, $4 graphile-worker ids of its job slots
UPDATE worker
SET last_heartbeat_at = now(),
    stopped_at = CASE WHEN $2::boolean THEN now() END,
    running_try_ids = $3::bigint[],
    job_lockers = $4::text[]
WHERE id = $1
