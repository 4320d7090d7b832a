-- Marks workers that stopped sending heartbeats as stopped, once none of their tries is
-- still running (recovery ends those first), and returns their job slots' graphile-worker ids.
-- $1 heartbeat timeout in milliseconds
UPDATE worker SET stopped_at = now()
WHERE stopped_at IS NULL AND greatest(last_heartbeat_at, pg_postmaster_start_time()) < now() - make_interval(secs => $1::float8 / 1000)
  AND NOT EXISTS (SELECT 1 FROM task_try tt WHERE tt.worker_id = worker.id AND tt.state = 'running')
RETURNING id, job_lockers
