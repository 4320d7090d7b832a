-- The gated instances waiting in these pools and in the runs of these DAGs that could start
-- now (a retry or reschedule only once due), highest weight first, at most $3 from each pool
-- and DAG, locked; one another transaction holds is passed over (its holder admits it).
-- $1 pools, $2 dag ids, $3 how many from each
WITH picked AS (
  SELECT w.id
  FROM unnest($1::text[]) AS p(name)
  CROSS JOIN LATERAL (
    SELECT ti.id FROM task_instance ti
    WHERE ti.pool = p.name AND ti.gated AND ti.state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')
      AND (ti.next_try_at IS NULL OR ti.next_try_at <= clock_timestamp())
    ORDER BY ti.priority_weight DESC, ti.id
    LIMIT $3
  ) AS w
  UNION
  SELECT w.id
  FROM unnest($2::text[]) AS d(name)
  CROSS JOIN LATERAL (
    SELECT ti.id FROM dag_run r JOIN task_instance ti ON ti.dag_run_id = r.id
    WHERE r.dag_id = d.name AND r.state IN ('queued', 'running') AND ti.gated AND ti.state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')
      AND (ti.next_try_at IS NULL OR ti.next_try_at <= clock_timestamp())
    ORDER BY ti.priority_weight DESC, ti.id
    LIMIT $3
  ) AS w
)
SELECT ti.id::text, ti.dag_run_id, ti.task_id, ti.map_index, ti.try_number, ti.pool, ti.pool_slots, ti.priority_weight, r.dag_id, d.max_active_tasks
FROM task_instance ti
JOIN dag_run r ON r.id = ti.dag_run_id
JOIN dag d ON d.id = r.dag_id
WHERE ti.id IN (SELECT id FROM picked)
ORDER BY ti.priority_weight DESC, ti.id
FOR UPDATE OF ti SKIP LOCKED
