-- What deleting these runs would delete (a dry run), table by table.
-- $1 run ids
SELECT
  (SELECT count(*) FROM task_instance ti WHERE ti.dag_run_id = ANY($1::int[]))::int AS task_instance,
  (SELECT count(*) FROM task_instance ti JOIN task_try t ON t.task_instance_id = ti.id WHERE ti.dag_run_id = ANY($1::int[]))::int AS task_try,
  (SELECT count(*) FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id WHERE ti.dag_run_id = ANY($1::int[]))::int AS xcom,
  (SELECT count(*) FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id WHERE ti.dag_run_id = ANY($1::int[]) AND x.blob_key IS NOT NULL)::int AS xcom_blob,
  (SELECT count(*) FROM task_instance ti JOIN task_try t ON t.task_instance_id = ti.id JOIN task_log l ON l.task_try_id = t.id
   WHERE ti.dag_run_id = ANY($1::int[]))::int AS task_log
