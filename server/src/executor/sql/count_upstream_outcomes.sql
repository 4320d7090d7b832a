-- Adds the outcomes of finished upstreams to their downstream instances' counts and
-- returns the new counts. The rows are locked first (lock_task_instances.sql): each
-- finisher then sees every earlier finisher's committed counts, so exactly one of them
-- sees a join's upstreams complete.
-- $1 task instance ids, $2 successes, $3 skips, $4 failures, $5 upstream failures (per id)
UPDATE task_instance ti
SET upstream_success_count = ti.upstream_success_count + d.succeeded,
    upstream_skipped_count = ti.upstream_skipped_count + d.skipped,
    upstream_failed_count = ti.upstream_failed_count + d.failed,
    upstream_upstream_failed_count = ti.upstream_upstream_failed_count + d.upstream_failed
FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $5::int[]) AS d(id, succeeded, skipped, failed, upstream_failed)
WHERE ti.id = d.id
RETURNING ti.id::text, ti.task_id, ti.map_index, ti.state, ti.upstream_success_count, ti.upstream_skipped_count, ti.upstream_failed_count,
          ti.upstream_upstream_failed_count, ti.upstream_extra_count, ti.try_number
