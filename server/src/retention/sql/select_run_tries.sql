-- The tries of runs chosen by select_expired_runs.sql, keyset-paged by id: their log lines
-- go first (delete_try_logs.sql), in batches.
-- $1 run ids, $2 after this try id, $3 limit
SELECT t.id::text
FROM task_instance ti
JOIN task_try t ON t.task_instance_id = ti.id
WHERE ti.dag_run_id = ANY($1::int[]) AND t.id > $2::bigint
ORDER BY t.id
LIMIT $3
