-- Deletes the (just unlocked) jobs of tries that recovery ended after their worker was
-- lost: each such try's retry is a new job, and the old one must not run it early.
-- $1 lost worker ids
SELECT count(*)::int AS deleted
FROM graphile_worker.complete_jobs(ARRAY(
  SELECT tt.job_id FROM task_try tt JOIN worker w ON w.id = tt.worker_id
  WHERE w.id = ANY($1::text[]) AND tt.job_id IS NOT NULL AND tt.ended_at >= w.last_heartbeat_at
))
