-- A backfill runs an ended run again: the run waits `queued` as one of the backfill's runs
-- (its task instances were cleared by clear_task_instances.sql first).
-- $1 dag run id, $2 backfill id
UPDATE dag_run r SET state = 'queued', run_type = 'backfill', backfill_id = $2, queued_at = clock_timestamp(), started_at = NULL, ended_at = NULL
WHERE r.id = $1 AND r.state IN ('success', 'failed')
RETURNING r.id
