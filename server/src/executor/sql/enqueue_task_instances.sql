-- Queues task instances: one graphile-worker job each, committed with this transaction.
-- An up_for_retry (or up_for_reschedule) instance keeps its state and its job waits until next_try_at.
-- $1 task instance ids
WITH ready AS (
  UPDATE task_instance
  SET state = CASE WHEN state IN ('up_for_retry', 'up_for_reschedule') THEN state ELSE 'queued' END, queued_at = clock_timestamp()
  WHERE id = ANY($1::bigint[]) AND state IN ('none', 'scheduled', 'up_for_retry', 'up_for_reschedule')
  RETURNING id, next_try_at
)
SELECT graphile_worker.add_jobs(array_agg(ROW(
  'run_task', json_build_object('taskInstanceId', id::text), NULL, next_try_at, 5, NULL, NULL, NULL
)::graphile_worker.job_spec))
FROM ready
HAVING count(*) > 0
