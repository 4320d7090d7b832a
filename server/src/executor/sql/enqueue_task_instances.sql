-- Queues task instances: one graphile-worker job each, committed with this transaction, under
-- the task identifier of its queue (`run_task` for `default`, `run_task:<queue>` for the
-- others: a worker's task list holds only the queues it serves) and with graphile-worker
-- priority −weight (lower runs first; clamped to its smallint).
-- An up_for_retry (or up_for_reschedule) instance keeps its state and its job waits until next_try_at.
-- An instance a limit governs is `gated` instead and gets no job: its pool has slots or does
-- not exist, or ($2) its DAG has maxActiveTasks. It waits `scheduled` (or in its due-later
-- state) until admission queues it (executor/capacity.ts); the pools of those are returned.
-- Returns the pools of the gated ones, and [task instance id, job id, queue] of the jobs due now.
-- $1 task instance ids, $2 whether the DAG has maxActiveTasks
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
), jobs AS (
  SELECT j.id, (j.payload->>'taskInstanceId') AS task_instance_id
  FROM graphile_worker.add_jobs(ARRAY(
    SELECT ROW(
      CASE WHEN queue = 'default' THEN 'run_task' ELSE 'run_task:' || queue END,
      json_build_object('taskInstanceId', id::text), NULL, next_try_at, 5, NULL,
      -greatest(-32767, least(32767, priority_weight)), NULL
    )::graphile_worker.job_spec
    FROM ready
    WHERE NOT gated
  )) j
)
SELECT array(SELECT DISTINCT pool FROM ready WHERE gated) AS gated_pools,
       -- The jobs due now, for a worker that may run one itself (transitions.ts, continueWith).
       coalesce((SELECT json_agg(json_build_array(jobs.task_instance_id, jobs.id::text, ready.queue))
                 FROM jobs JOIN ready ON ready.id::text = jobs.task_instance_id
                 WHERE ready.next_try_at IS NULL), '[]') AS due_jobs
