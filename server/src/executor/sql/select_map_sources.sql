-- What a mapped task's upstream lists look like before it is expanded: per list, the JSON
-- type of an unmapped upstream's value (null: it published none; 'stored': it is not inline
-- plain JSON and was not split into items, so SQL cannot split it) and the length of an
-- array (or its number of split items); a mapped upstream's list has one item per instance
-- that published a value. `encoded`: how many items are devalue text (a zip needs none);
-- `blobs`: how many of a mapped upstream's values are in the object store (not mappable).
-- $1 dag run id, $2 upstream task ids, $3 keys, $4 whether each upstream is mapped
SELECT s.pos::int,
       CASE WHEN s.mapped OR v.item_count IS NOT NULL THEN 'array'
            WHEN v.value IS NULL AND v.encoding IS NOT NULL THEN 'stored'
            ELSE jsonb_typeof(v.value) END AS type,
       CASE WHEN s.mapped THEN m.count::int
            WHEN v.item_count IS NOT NULL THEN v.item_count
            WHEN jsonb_typeof(v.value) = 'array' THEN jsonb_array_length(v.value) END AS length,
       CASE WHEN s.mapped THEN m.encoded WHEN v.item_count IS NOT NULL THEN v.encoded_items ELSE 0 END::int AS encoded,
       coalesce(m.blobs, 0)::int AS blobs
FROM unnest($2::text[], $3::text[], $4::boolean[]) WITH ORDINALITY AS s(task_id, key, mapped, pos)
LEFT JOIN LATERAL (
  SELECT x.value, x.encoding, x.item_count,
         (SELECT count(*) FROM xcom_item i WHERE i.xcom_id = x.id AND i.serialized IS NOT NULL) AS encoded_items
  FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE NOT s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index = -1
) v ON true
LEFT JOIN LATERAL (
  SELECT count(*), count(*) FILTER (WHERE x.serialized IS NOT NULL) AS encoded, count(*) FILTER (WHERE x.blob_key IS NOT NULL) AS blobs
  FROM task_instance ti JOIN xcom x ON x.task_instance_id = ti.id AND x.key = s.key
  WHERE s.mapped AND ti.dag_run_id = $1 AND ti.task_id = s.task_id AND ti.map_index >= 0
) m ON true
ORDER BY s.pos
