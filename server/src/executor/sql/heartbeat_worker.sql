-- A worker's heartbeat: it is alive, and holds these tries and graphile-worker job slots.
-- Returns the tries it holds that it should stop: their run was cancelled or marked, or
-- their task instance marked, since they started.
-- $1 worker id, $2 stopping, $3 running try ids, $4 graphile-worker ids of its job slots
WITH beat AS (
  UPDATE worker
  SET last_heartbeat_at = now(),
      stopped_at = CASE WHEN $2::boolean THEN now() END,
      running_try_ids = $3::bigint[],
      job_lockers = $4::text[]
  WHERE id = $1
)
SELECT t.id::text AS try_id, r.state::text AS run_state, ti.state::text AS task_state
FROM task_try t
JOIN task_instance ti ON ti.id = t.task_instance_id
JOIN dag_run r ON r.id = ti.dag_run_id
WHERE t.id = ANY($3::bigint[]) AND t.state = 'running' AND (ti.state <> 'running' OR r.state <> 'running')
