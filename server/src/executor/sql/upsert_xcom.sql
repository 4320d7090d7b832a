-- $1 task instance id, $2 key, $3 value (json text), $4 size in bytes
INSERT INTO xcom (task_instance_id, key, value, size_bytes)
VALUES ($1, $2, $3::jsonb, $4)
ON CONFLICT (task_instance_id, key) DO UPDATE SET value = excluded.value, size_bytes = excluded.size_bytes, created_at = now()
