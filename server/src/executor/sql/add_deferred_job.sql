-- Adds the job of a task instance that enqueue_task_instances.sql queued without one, for the
-- worker finishing its upstream try to run it itself, when that worker did not claim it after
-- all (the transaction made another instance due too, or the claim found nothing). The same
-- job that enqueue_task_instances.sql would have added. Returns how many it added (0 or 1).
-- $1 task instance id
SELECT count(*)::int AS added
FROM task_instance ti
CROSS JOIN LATERAL graphile_worker.add_jobs(ARRAY[ROW(
  CASE WHEN ti.queue = 'default' THEN 'run_task' ELSE 'run_task:' || ti.queue END,
  json_build_object('taskInstanceId', ti.id::text), NULL, ti.next_try_at, 5, NULL,
  -greatest(-32767, least(32767, ti.priority_weight)), NULL
)::graphile_worker.job_spec]) j
WHERE ti.id = $1::bigint AND (ti.state = 'queued' OR ti.state IN ('up_for_retry', 'up_for_reschedule'))
