-- Tries still running on workers that stopped sending heartbeats (killed, frozen, cut off).
-- $1 heartbeat timeout in milliseconds
SELECT tt.id::text AS try_id, tt.try_number, ti.id::text AS task_instance_id, ti.dag_run_id, ti.task_id, ti.max_tries,
       r.dag_version_id, w.id AS worker_id
FROM worker w
JOIN task_try tt ON tt.worker_id = w.id AND tt.state = 'running'
JOIN task_instance ti ON ti.id = tt.task_instance_id
JOIN dag_run r ON r.id = ti.dag_run_id
WHERE w.stopped_at IS NULL AND w.last_heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)
