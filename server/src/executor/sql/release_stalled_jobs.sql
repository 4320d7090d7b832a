-- Jobs that a job slot locked a while ago whose task instance is not running: the job's
-- delivery was lost (the connection died right after graphile-worker's get_job locked it,
-- so no handler ever ran), or its completion was (the try was recorded, then the database
-- went away before graphile-worker deleted the job). Their slots are unlocked so that the
-- jobs run again: an undelivered one runs its try, the others are dropped by the claim.
-- Reads graphile-worker's private jobs table, which alone has the payload (graphile-worker
-- is pinned to 0.17).
-- $1 seconds a job may stay locked without its claim
WITH stalled AS (
  SELECT DISTINCT j.locked_by
  FROM graphile_worker._private_jobs j
  JOIN graphile_worker._private_tasks t ON t.id = j.task_id AND t.identifier = 'run_task'
  JOIN task_instance ti ON ti.id = (j.payload->>'taskInstanceId')::bigint
  WHERE j.locked_at < now() - make_interval(secs => $1::float8) AND ti.state <> 'running'
)
SELECT count(*)::int AS slots, graphile_worker.force_unlock_workers(coalesce(array_agg(locked_by), '{}')) IS NULL AS done
FROM stalled
