-- The items of a task instance's return value, a list that is not inline plain JSON, split
-- by the worker for a mapped task to map over (expand_task_instance.sql reads them).
-- Runs in the finishing transaction, after finish_try.sql stored the value.
-- $1 task instance id, $2 item indexes, $3 items as plain JSON text (or null), $4 items as devalue text (or null)
INSERT INTO xcom_item (xcom_id, idx, value, serialized)
SELECT x.id, i.idx, i.value::jsonb, i.serialized
FROM xcom x, unnest($2::int[], $3::text[], $4::text[]) AS i(idx, value, serialized)
WHERE x.task_instance_id = $1 AND x.key = 'return_value'
-- A value replaced in place (finish_try's ON CONFLICT) replaces its items; item_count bounds the reading.
ON CONFLICT (xcom_id, idx) DO UPDATE SET value = excluded.value, serialized = excluded.serialized
