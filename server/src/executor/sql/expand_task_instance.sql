-- Expands a mapped task's instance (map_index -1) into one instance per item, in one
-- statement however many items: the -1 row becomes instance 0, the others are inserted,
-- all `scheduled` with their item (and the task's queue, pool and weight). Items come from the task's lists: literal arrays,
-- unmapped upstreams' array values (inline plain JSON split here, or the items the worker
-- split into xcom_item), and mapped upstreams' values in map_index order; zipped lists give
-- tuples (of plain JSON items only: select_map_sources.sql lets no other zip through). An
-- item is plain JSON (map_item) or devalue text (map_item_serialized).
-- Returns the ids of the first $7 instances, to be enqueued.
-- $1 task instance id (map_index -1), $2 number of items (the shortest list's length),
-- $3 list kinds ('value', 'xcom' or 'mapped'), $4 upstream task ids, $5 keys,
-- $6 literal lists (jsonb), $7 how many to enqueue now, $8 zip
WITH ti AS (
  SELECT id, dag_run_id, task_id, max_tries, queue, pool, pool_slots, priority_weight FROM task_instance WHERE id = $1 AND map_index = -1 AND state IN ('none', 'scheduled')
), src AS (
  SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[]) WITH ORDINALITY AS s(kind, task_id, key, literal, pos)
), elements AS (
  SELECT s.pos, e.ord - 1 AS idx, e.item, NULL::text AS item_serialized
  FROM src s CROSS JOIN LATERAL jsonb_array_elements(s.literal) WITH ORDINALITY AS e(item, ord)
  WHERE s.kind = 'value'
  UNION ALL
  SELECT s.pos, e.ord - 1, e.item, NULL
  FROM src s
  JOIN ti ON true
  JOIN task_instance up ON up.dag_run_id = ti.dag_run_id AND up.task_id = s.task_id AND up.map_index = -1
  JOIN xcom x ON x.task_instance_id = up.id AND x.key = s.key
  CROSS JOIN LATERAL jsonb_array_elements(x.value) WITH ORDINALITY AS e(item, ord)
  WHERE s.kind = 'xcom' AND x.value IS NOT NULL
  UNION ALL
  SELECT s.pos, i.idx, i.value, i.serialized
  FROM src s
  JOIN ti ON true
  JOIN task_instance up ON up.dag_run_id = ti.dag_run_id AND up.task_id = s.task_id AND up.map_index = -1
  JOIN xcom x ON x.task_instance_id = up.id AND x.key = s.key
  JOIN xcom_item i ON i.xcom_id = x.id
  WHERE s.kind = 'xcom' AND x.value IS NULL AND i.idx < $2
  UNION ALL
  SELECT s.pos, row_number() OVER (PARTITION BY s.pos ORDER BY up.map_index) - 1, x.value, x.serialized
  FROM src s
  JOIN ti ON true
  JOIN task_instance up ON up.dag_run_id = ti.dag_run_id AND up.task_id = s.task_id AND up.map_index >= 0
  JOIN xcom x ON x.task_instance_id = up.id AND x.key = s.key
  WHERE s.kind = 'mapped'
), items AS (
  SELECT idx,
         CASE WHEN $8::boolean THEN jsonb_agg(item ORDER BY pos) ELSE (array_agg(item))[1] END AS item,
         CASE WHEN $8::boolean THEN NULL ELSE (array_agg(item_serialized))[1] END AS item_serialized
  FROM elements
  WHERE idx < $2
  GROUP BY idx
), first AS (
  UPDATE task_instance t SET map_index = 0, map_item = items.item, map_item_serialized = items.item_serialized, state = 'scheduled'
  FROM ti, items
  WHERE t.id = ti.id AND items.idx = 0
  RETURNING t.id, t.map_index
), rest AS (
  INSERT INTO task_instance (dag_run_id, task_id, map_index, map_item, map_item_serialized, max_tries, state, queue, pool, pool_slots, priority_weight)
  SELECT ti.dag_run_id, ti.task_id, items.idx, items.item, items.item_serialized, ti.max_tries, 'scheduled', ti.queue, ti.pool, ti.pool_slots, ti.priority_weight
  FROM ti, items
  WHERE items.idx > 0
  RETURNING id, map_index
)
SELECT id::text FROM (SELECT * FROM first UNION ALL SELECT * FROM rest) expanded
WHERE map_index < $7
ORDER BY map_index
