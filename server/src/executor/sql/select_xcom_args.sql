-- Upstream values a task receives as arguments: a mapped upstream's in map_index order,
-- each as stored (xcom/values.ts: plain JSON text, devalue text or an object-store key).
-- $1 dag run id, $2 upstream task ids
SELECT ti.task_id, ti.map_index, x.key, x.encoding, x.value::text AS json, x.serialized, x.blob_key, x.blob_sha256, x.size_bytes
FROM task_instance ti
JOIN xcom x ON x.task_instance_id = ti.id
WHERE ti.dag_run_id = $1 AND ti.task_id = ANY($2::text[])
ORDER BY ti.task_id, ti.map_index
