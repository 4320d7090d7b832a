-- Admits gated instances (their pool and DAG had room, under the locks): each is queued with
-- its job, as enqueue_task_instances.sql queues an ungated one. A due retry or reschedule is
-- queued too (a claim takes a queued instance at once).
-- $1 task instance ids
WITH admitted AS (
  UPDATE task_instance
  SET state = 'queued', queued_at = clock_timestamp(), next_try_at = NULL
  WHERE id = ANY($1::bigint[]) AND gated AND state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')
  RETURNING id, dag_run_id, task_id, map_index, try_number, queue, priority_weight
), jobs AS (
  SELECT graphile_worker.add_jobs(array_agg(ROW(
    CASE WHEN queue = 'default' THEN 'run_task' ELSE 'run_task:' || queue END,
    json_build_object('taskInstanceId', id::text), NULL, NULL, 5, NULL,
    -greatest(-32767, least(32767, priority_weight)), NULL
  )::graphile_worker.job_spec))
  FROM admitted
  HAVING count(*) > 0
)
SELECT a.id::text, a.dag_run_id, a.task_id, a.map_index, a.try_number, (SELECT count(*) FROM jobs) AS jobs
FROM admitted a
