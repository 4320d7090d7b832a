-- Running tries that no live worker holds: their worker stopped sending heartbeats
-- (killed, frozen, cut off) or stopped, or it is alive but no longer lists the try among
-- those it holds (a try started well before its latest heartbeat, so not one just claimed).
-- Silence counts from the database's own start at the earliest: after PostgreSQL restarts,
-- workers get a full timeout to reconnect and heartbeat before they are taken for dead.
-- $1 heartbeat timeout in milliseconds
SELECT tt.id::text AS try_id, tt.try_number, ti.id::text AS task_instance_id, ti.dag_run_id, ti.task_id, ti.max_tries,
       r.dag_version_id, w.id AS worker_id,
       (w.stopped_at IS NULL AND greatest(w.last_heartbeat_at, pg_postmaster_start_time()) >= now() - make_interval(secs => $1::float8 / 1000)) AS worker_alive
FROM worker w
JOIN task_try tt ON tt.worker_id = w.id AND tt.state = 'running'
JOIN task_instance ti ON ti.id = tt.task_instance_id
JOIN dag_run r ON r.id = ti.dag_run_id
WHERE w.stopped_at IS NOT NULL
   OR greatest(w.last_heartbeat_at, pg_postmaster_start_time()) < now() - make_interval(secs => $1::float8 / 1000)
   OR (tt.started_at < w.last_heartbeat_at - interval '2 seconds' AND NOT tt.id = ANY(w.running_try_ids))
