-- What a mapped task's upstream lists look like before it is expanded: per list, the JSON
-- type of an unmapped upstream's value (null: it published none; 'stored': it is not inline
-- plain JSON but devalue text or a blob, which SQL cannot split) and the length of an
-- array; a mapped upstream's list has one item per instance that published a value, and
-- `stored` counts those items that are not inline plain JSON.
-- $1 dag run id, $2 upstream task ids, $3 keys, $4 whether each upstream is mapped
SELECT s.pos::int,
       CASE WHEN s.mapped THEN 'array' WHEN v.value IS NULL AND v.encoding IS NOT NULL THEN 'stored' ELSE jsonb_typeof(v.value) END AS type,
       CASE WHEN s.mapped THEN m.count::int WHEN jsonb_typeof(v.value) = 'array' THEN jsonb_array_length(v.value) END AS length,
       coalesce(m.stored, 0)::int AS stored
FROM unnest($2::text[], $3::text[], $4::boolean[]) WITH ORDINALITY AS s(task_id, key, mapped, pos)
LEFT JOIN LATERAL (
  SELECT x.value, x.encoding FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE NOT s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index = -1
) v ON true
LEFT JOIN LATERAL (
  SELECT count(*), count(*) FILTER (WHERE x.value IS NULL) AS stored FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index >= 0
) m ON true
ORDER BY s.pos
