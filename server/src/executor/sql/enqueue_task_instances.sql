-- Queues task instances: one graphile-worker job each, committed with this transaction, under
-- the task identifier of its queue (`run_task` for `default`, `run_task:<queue>` for the
-- others: a worker's task list holds only the queues it serves) and with graphile-worker
-- priority −weight (lower runs first; clamped to its smallint).
-- An up_for_retry (or up_for_reschedule) instance keeps its state and its job waits until next_try_at.
-- An instance a limit governs is `gated` instead and gets no job: its pool has slots or does
-- not exist, or ($2) its DAG has maxActiveTasks. It waits `scheduled` (or in its due-later
-- state) until admission queues it (executor/capacity.ts); the pools of those are returned.
-- Returns the pools of the gated ones, how many instances are due now, and the one due
-- instance as [task instance id, job id, queue] when there is exactly one.
-- $3 the queues of a worker that may run the one due instance itself (transitions.ts,
-- ContinueWith), null for none: when exactly one instance is due now and its queue is one of
-- these, it is queued without a job (job id null); the caller claims it or adds its job
-- (add_deferred_job.sql) before its transaction ends.
-- $1 task instance ids, $2 whether the DAG has maxActiveTasks, $3 text[] or null
WITH unlimited AS (
  SELECT name FROM pool WHERE slots IS NULL
), ready AS (
  UPDATE task_instance ti
  SET gated = ($2::boolean OR ti.pool NOT IN (SELECT name FROM unlimited)),
      state = CASE
        WHEN ti.state IN ('up_for_retry', 'up_for_reschedule') THEN ti.state
        WHEN $2::boolean OR ti.pool NOT IN (SELECT name FROM unlimited) THEN 'scheduled'
        ELSE 'queued'
      END,
      queued_at = clock_timestamp()
  WHERE ti.id = ANY($1::bigint[]) AND ti.state IN ('none', 'scheduled', 'up_for_retry', 'up_for_reschedule')
  RETURNING ti.id, ti.next_try_at, ti.queue, ti.pool, ti.priority_weight, ti.gated
), deferred AS (
  SELECT id FROM ready
  WHERE NOT gated AND next_try_at IS NULL AND queue = ANY($3::text[])
    AND (SELECT count(*) FROM ready WHERE NOT gated AND next_try_at IS NULL) = 1
), jobs AS MATERIALIZED (
  SELECT j.id, (j.payload->>'taskInstanceId')::bigint AS task_instance_id
  FROM (
    SELECT array_agg(ROW(
      CASE WHEN queue = 'default' THEN 'run_task' ELSE 'run_task:' || queue END,
      json_build_object('taskInstanceId', id::text), NULL, next_try_at, 5, NULL,
      -greatest(-32767, least(32767, priority_weight)), NULL
    )::graphile_worker.job_spec) AS specs
    FROM ready
    WHERE NOT gated AND id NOT IN (SELECT id FROM deferred)
    HAVING count(*) > 0
  ) s
  CROSS JOIN LATERAL graphile_worker.add_jobs(s.specs) j
), due AS (
  SELECT ready.id AS task_instance_id, jobs.id, ready.queue
  FROM ready LEFT JOIN jobs ON jobs.task_instance_id = ready.id
  WHERE NOT ready.gated AND ready.next_try_at IS NULL
)
SELECT array(SELECT DISTINCT pool FROM ready WHERE gated) AS gated_pools,
       -- Read here so that the jobs are added whatever else is read (not only where due reads them).
       (SELECT count(*) FROM jobs)::int AS jobs_added,
       (SELECT count(*) FROM due)::int AS due_count,
       -- The instance due now when it is the only one: its worker may run it itself (transitions.ts, ContinueWith).
       (SELECT json_build_array(task_instance_id::text, id::text, queue) FROM due WHERE (SELECT count(*) FROM due) = 1) AS due_job
