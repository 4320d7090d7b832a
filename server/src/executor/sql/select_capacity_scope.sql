-- What an admission pass must lock: the given pools and DAGs, and the pools and limited DAGs
-- of the gated instances waiting in them (an instance is admitted only under the locks of
-- both its pool and its DAG's maxActiveTasks). Sorted: the lock order.
-- $1 pools, $2 dag ids
WITH waiting AS (
  SELECT ti.pool, r.dag_id
  FROM task_instance ti JOIN dag_run r ON r.id = ti.dag_run_id
  WHERE ti.pool = ANY($1::text[]) AND ti.gated AND ti.state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')
  UNION
  SELECT ti.pool, r.dag_id
  FROM dag_run r JOIN task_instance ti ON ti.dag_run_id = r.id
  WHERE r.dag_id = ANY($2::text[]) AND r.state IN ('queued', 'running') AND ti.gated AND ti.state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')
)
SELECT array(SELECT pool FROM waiting UNION SELECT unnest($1::text[]) ORDER BY 1) AS pools,
       array(
         SELECT d.id FROM dag d
         WHERE d.max_active_tasks IS NOT NULL AND (d.id = ANY($2::text[]) OR d.id IN (SELECT dag_id FROM waiting))
         ORDER BY 1
       ) AS dag_ids
