-- Starts the next try of a queued (or up-for-retry) task instance and returns what the
-- worker needs to run it. No row: the instance is not runnable (a duplicate job, or an
-- old job of an instance whose retry is not due yet).
-- $1 task instance id, $2 worker id, $3 graphile-worker job id
WITH ti AS (
  UPDATE task_instance
  SET state = 'running', try_number = try_number + 1, started_at = clock_timestamp(), ended_at = NULL, next_try_at = NULL
  WHERE id = $1 AND (state = 'queued' OR (state IN ('up_for_retry', 'up_for_reschedule') AND (next_try_at IS NULL OR next_try_at <= clock_timestamp())))
  RETURNING id, dag_run_id, task_id, map_index, map_item, map_item_serialized, try_number, max_tries, started_at
), try AS (
  INSERT INTO task_try (task_instance_id, try_number, state, worker_id, started_at, job_id)
  SELECT id, try_number, 'running', $2, started_at, $3 FROM ti
  RETURNING id
)
SELECT ti.id::text AS task_instance_id, ti.dag_run_id, ti.task_id, ti.map_index, ti.map_item, ti.map_item_serialized, ti.try_number, ti.max_tries,
       try.id::text AS try_id, r.dag_id, r.run_id, r.run_type, r.logical_date, r.data_interval_start, r.data_interval_end, r.conf, coalesce(r.params, r.conf) AS params, r.dag_version_id, v.bundle_hash,
       pg_notify('updraft_run', json_build_object(
         'run', ti.dag_run_id, 'tis', json_build_array(json_build_array(ti.id::text, ti.task_id, ti.map_index, 'running', ti.try_number))
       )::text) IS NULL AS notified
FROM ti
CROSS JOIN try
JOIN dag_run r ON r.id = ti.dag_run_id
JOIN dag_version v ON v.id = r.dag_version_id
