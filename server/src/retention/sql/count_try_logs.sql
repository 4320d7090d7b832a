-- How many log lines these tries have (a dry run).
-- $1 try ids
SELECT count(*)::int AS task_log FROM task_log WHERE task_try_id = ANY($1::bigint[])
