-- What a mapped task's upstream lists look like before it is expanded: per list, the JSON
-- type of an unmapped upstream's value (null: it published none) and the length of an
-- array; a mapped upstream's list has one item per instance that published a value.
-- $1 dag run id, $2 upstream task ids, $3 keys, $4 whether each upstream is mapped
SELECT s.pos::int,
       CASE WHEN s.mapped THEN 'array' ELSE jsonb_typeof(v.value) END AS type,
       CASE WHEN s.mapped THEN m.count::int WHEN jsonb_typeof(v.value) = 'array' THEN jsonb_array_length(v.value) END AS length
FROM unnest($2::text[], $3::text[], $4::boolean[]) WITH ORDINALITY AS s(task_id, key, mapped, pos)
LEFT JOIN LATERAL (
  SELECT x.value FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE NOT s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index = -1
) v ON true
LEFT JOIN LATERAL (
  SELECT count(*) FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index >= 0
) m ON true
ORDER BY s.pos
