-- The task instances an operator acts on (clear, mark), locked in id order like every
-- count (ARCHITECTURE.md, "Counting, and locking").
-- $1 dag run id, $2 task ids, $3 map indexes (null: every instance of those tasks)
SELECT id::text, task_id, map_index, state, try_number
FROM task_instance
WHERE dag_run_id = $1 AND task_id = ANY($2::text[]) AND ($3::int[] IS NULL OR map_index = ANY($3::int[]))
ORDER BY id
FOR UPDATE
