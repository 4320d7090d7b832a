-- Adds log lines to a try that was already recorded (what a DAG run callback logs after
-- the try that ended the run).
-- $1 try id, $2 log seq[], $3 level[], $4 message[], $5 fields json[], $6 logged at[]
INSERT INTO task_log (task_try_id, seq, level, message, fields, logged_at)
SELECT $1, l.seq, l.level, l.message, l.fields::jsonb, l.logged_at
FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS l(seq, level, message, fields, logged_at)
