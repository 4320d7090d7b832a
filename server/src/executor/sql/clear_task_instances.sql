-- Clears ended task instances so that they run again: back to `none`, their tries kept
-- (the next try continues the numbering) with a full set of tries ahead, their values
-- deleted; recount_upstream_outcomes.sql then sets their counts.
-- $1 task instance ids, $2 tries each may take from now on (retries + 1)
WITH cleared AS (
  UPDATE task_instance ti
  SET state = 'none', queued_at = NULL, started_at = NULL, ended_at = NULL, next_try_at = NULL,
      max_tries = ti.try_number + c.tries,
      upstream_success_count = 0, upstream_skipped_count = 0, upstream_failed_count = 0, upstream_upstream_failed_count = 0
  FROM unnest($1::bigint[], $2::int[]) AS c(id, tries)
  WHERE ti.id = c.id AND ti.state IN ('success', 'failed', 'upstream_failed', 'skipped')
  RETURNING ti.id, ti.task_id, ti.map_index, ti.try_number, ti.state
), dropped AS (
  DELETE FROM xcom WHERE task_instance_id IN (SELECT id FROM cleared)
)
SELECT id::text, task_id, map_index, try_number FROM cleared
