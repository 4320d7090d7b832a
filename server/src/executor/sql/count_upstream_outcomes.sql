-- Locks the downstream instances of finished upstreams and adds the upstreams' outcomes to
-- their counts, returning the new counts, in one statement. The rows are locked in id order
-- (`locked`, so concurrent finishers cannot deadlock) before they are updated; the update then
-- applies to the latest committed version of each (READ COMMITTED re-reads a row a concurrent
-- finisher changed), so each finisher sees every earlier finisher's counts and exactly one of
-- them sees a join's upstreams complete.
-- $1 dag run id, $2 downstream task ids, $3 successes, $4 skips, $5 failures, $6 upstream failures (per task)
WITH d AS (
  SELECT * FROM unnest($2::text[], $3::int[], $4::int[], $5::int[], $6::int[]) AS d(task_id, succeeded, skipped, failed, upstream_failed)
), locked AS MATERIALIZED (
  SELECT ti.id, d.succeeded, d.skipped, d.failed, d.upstream_failed
  FROM task_instance ti JOIN d ON d.task_id = ti.task_id
  WHERE ti.dag_run_id = $1 AND ti.map_index = -1
  ORDER BY ti.id
  FOR UPDATE OF ti
)
UPDATE task_instance ti
SET upstream_success_count = ti.upstream_success_count + locked.succeeded,
    upstream_skipped_count = ti.upstream_skipped_count + locked.skipped,
    upstream_failed_count = ti.upstream_failed_count + locked.failed,
    upstream_upstream_failed_count = ti.upstream_upstream_failed_count + locked.upstream_failed
FROM locked
WHERE ti.id = locked.id
RETURNING ti.id::text, ti.task_id, ti.map_index, ti.state, ti.upstream_success_count, ti.upstream_skipped_count, ti.upstream_failed_count,
          ti.upstream_upstream_failed_count, ti.upstream_extra_count, ti.try_number
