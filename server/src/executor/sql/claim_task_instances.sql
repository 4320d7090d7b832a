-- Starts the next try of queued (or up-for-retry) task instances and returns what the worker needs to run each (the
-- worker's claims that arrive together go in one statement: claim-group.ts). An instance
-- with no row is not runnable (a duplicate job, or an old job of an instance whose retry
-- is not due yet). The instances are locked in id order, so concurrent claims cannot deadlock.
-- $1 task instance ids (distinct), $2 worker id, $3 their graphile-worker job ids
WITH wanted AS (
  SELECT w.id, w.job_id FROM unnest($1::bigint[], $3::bigint[]) AS w(id, job_id)
), locked AS (
  SELECT ti.id FROM task_instance ti JOIN wanted USING (id) ORDER BY ti.id FOR UPDATE OF ti
), ti AS (
  UPDATE task_instance ti
  SET state = 'running', try_number = ti.try_number + 1, started_at = clock_timestamp(), ended_at = NULL, next_try_at = NULL
  FROM locked
  WHERE ti.id = locked.id AND (ti.state = 'queued' OR (ti.state IN ('up_for_retry', 'up_for_reschedule') AND (ti.next_try_at IS NULL OR ti.next_try_at <= clock_timestamp())))
  RETURNING ti.id, ti.dag_run_id, ti.task_id, ti.map_index, ti.map_item, ti.map_item_serialized, ti.try_number, ti.max_tries, ti.started_at
), try AS (
  INSERT INTO task_try (task_instance_id, try_number, state, worker_id, started_at, job_id)
  SELECT ti.id, ti.try_number, 'running', $2, ti.started_at, wanted.job_id FROM ti JOIN wanted USING (id)
  RETURNING id, task_instance_id
), notified AS (
  -- One notification per run (live/notifications.ts's payload).
  SELECT pg_notify('updraft_run', json_build_object(
    'run', ti.dag_run_id, 'tis', json_agg(json_build_array(ti.id::text, ti.task_id, ti.map_index, 'running', ti.try_number))
  )::text) IS NULL AS sent
  FROM ti GROUP BY ti.dag_run_id
)
SELECT ti.id::text AS task_instance_id, ti.dag_run_id, ti.task_id, ti.map_index, ti.map_item, ti.map_item_serialized, ti.try_number, ti.max_tries,
       try.id::text AS try_id, r.dag_id, r.run_id, r.run_type, r.logical_date, r.data_interval_start, r.data_interval_end, r.conf, coalesce(r.params, r.conf) AS params, r.dag_version_id, v.bundle_hash
FROM ti
JOIN try ON try.task_instance_id = ti.id
JOIN dag_run r ON r.id = ti.dag_run_id
JOIN dag_version v ON v.id = r.dag_version_id
CROSS JOIN (SELECT count(*) FROM notified) n
