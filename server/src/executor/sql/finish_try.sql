-- Ends a running try: its state and error, its task instance's next state, its return
-- value (XCom) and the log lines not yet written while it ran, in one statement (`gated`:
-- the instance held slots of a limit, which admission may now give on). No row:
-- the try was no longer running (ended elsewhere), and nothing was written. A line already
-- stored (a batch written while the try ran, whose acknowledgement was lost) is left as it is.
-- $1 try id, $2 try state, $3 error json, $4 task instance state, $5 next try at,
-- $6 return value as plain JSON text (jsonb), $7 its size in bytes,
-- $8 log seq[], $9 level[], $10 message[], $11 fields json[], $12 logged at[],
-- $13 tries added to max_tries (1 for a try interrupted by a worker shutdown or a sensor's
--     reschedule, neither of which may use up a retry),
-- $14 the value's encoding (null: no value), $15 devalue text stored inline,
-- $16 object-store key, $17 the blob's SHA-256 (exactly one of $6, $15, $16 with a value);
-- recording a blob removes the tombstone booked before it was written (xcom/values.ts),
-- $18 how many items the value was split into for a mapped task (insert_xcom_items.sql; null: not split)
WITH try AS (
  UPDATE task_try SET state = $2::"TaskInstanceState", ended_at = clock_timestamp(), error = $3::jsonb
  WHERE id = $1 AND state = 'running'
  RETURNING id, task_instance_id, ended_at
), ti AS (
  UPDATE task_instance ti
  SET state = $4::"TaskInstanceState",
      ended_at = CASE WHEN $4::"TaskInstanceState" IN ('up_for_retry', 'up_for_reschedule') THEN NULL ELSE try.ended_at END,
      next_try_at = $5::timestamptz,
      max_tries = ti.max_tries + $13::int
  FROM try
  WHERE ti.id = try.task_instance_id AND ti.state = 'running'
  RETURNING ti.id, ti.map_index, ti.gated
), xcom AS (
  INSERT INTO xcom (task_instance_id, key, value, size_bytes, encoding, serialized, blob_key, blob_sha256, item_count)
  SELECT ti.id, 'return_value', $6::jsonb, $7, $14::text, $15::text, $16::text, $17::text, $18::int FROM ti WHERE $14::text IS NOT NULL
  ON CONFLICT (task_instance_id, key) DO UPDATE
  SET value = excluded.value, size_bytes = excluded.size_bytes, encoding = excluded.encoding, serialized = excluded.serialized,
      blob_key = excluded.blob_key, blob_sha256 = excluded.blob_sha256, item_count = excluded.item_count, created_at = now()
), kept_blob AS (
  DELETE FROM xcom_blob_tombstone WHERE key = $16::text AND EXISTS (SELECT 1 FROM ti)
), logs AS (
  INSERT INTO task_log (task_try_id, seq, level, message, fields, logged_at)
  SELECT try.id, l.seq, l.level, l.message, l.fields::jsonb, l.logged_at
  FROM try, unnest($8::int[], $9::text[], $10::text[], $11::text[], $12::timestamptz[]) AS l(seq, level, message, fields, logged_at)
  WHERE EXISTS (SELECT 1 FROM ti)
  ON CONFLICT (task_try_id, seq) DO NOTHING
)
SELECT id::text, map_index, gated FROM ti
