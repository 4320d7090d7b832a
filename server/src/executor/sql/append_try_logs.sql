-- Adds a batch of log lines to a try: while it runs (TryLog writes them every 200 ms or 500
-- lines), and after it was recorded (what a DAG run callback logs). A line already stored
-- (a batch whose commit was acknowledged too late, then written again) is left as it is.
-- Tells live subscribers which lines arrived (updraft_log: the try and the seq range; never
-- the text, as a notification carries at most 8000 bytes).
-- $1 try id, $2 log seq[], $3 level[], $4 message[], $5 fields json[], $6 logged at[],
-- $7 notification payload ({"try", "from", "to"})
WITH logs AS (
  INSERT INTO task_log (task_try_id, seq, level, message, fields, logged_at)
  SELECT $1, l.seq, l.level, l.message, l.fields::jsonb, l.logged_at
  FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS l(seq, level, message, fields, logged_at)
  ON CONFLICT (task_try_id, seq) DO NOTHING
)
SELECT pg_notify('updraft_log', $7::text)
