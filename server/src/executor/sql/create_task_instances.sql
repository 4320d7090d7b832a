-- $1 dag run id, $2 task ids, $3 max tries, $4 queues, $5 pools, $6 pool slots, $7 priority weights
INSERT INTO task_instance (dag_run_id, task_id, max_tries, queue, pool, pool_slots, priority_weight)
SELECT $1, t.task_id, t.max_tries, t.queue, t.pool, t.pool_slots, t.priority_weight
FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::int[]) AS t(task_id, max_tries, queue, pool, pool_slots, priority_weight)
RETURNING id::text, task_id, map_index
