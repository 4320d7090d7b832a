-- Sets the upstream counts of task instances from their upstream instances' states, after
-- an operator cleared or marked some: the counts that finishers add to must stay true.
-- Returns the same columns as count_upstream_outcomes.sql.
-- $1 dag run id, $2 task instance ids, $3 an upstream task id of each (one row per pair)
WITH pairs AS (
  SELECT * FROM unnest($2::bigint[], $3::text[]) AS p(id, upstream_task_id)
), counts AS (
  SELECT p.id,
         count(*) FILTER (WHERE u.state = 'success') AS succeeded,
         count(*) FILTER (WHERE u.state = 'skipped') AS skipped,
         count(*) FILTER (WHERE u.state = 'failed') AS failed,
         count(*) FILTER (WHERE u.state = 'upstream_failed') AS upstream_failed,
         count(*) - count(DISTINCT p.upstream_task_id) AS extra
  FROM pairs p
  JOIN task_instance u ON u.dag_run_id = $1 AND u.task_id = p.upstream_task_id
  GROUP BY p.id
)
UPDATE task_instance ti
SET upstream_success_count = c.succeeded, upstream_skipped_count = c.skipped, upstream_failed_count = c.failed,
    upstream_upstream_failed_count = c.upstream_failed, upstream_extra_count = c.extra
FROM counts c
WHERE ti.id = c.id
RETURNING ti.id::text, ti.task_id, ti.map_index, ti.state, ti.upstream_success_count, ti.upstream_skipped_count, ti.upstream_failed_count,
          ti.upstream_upstream_failed_count, ti.upstream_extra_count, ti.try_number
