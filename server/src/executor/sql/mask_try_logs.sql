-- Replaces the text of some of a try's stored log lines with their masked text (TryLog.settle).
-- $1 try id, $2 seq[], $3 message[], $4 fields json[] (null for none)
UPDATE task_log t
SET message = l.message, fields = l.fields::jsonb
FROM unnest($2::int[], $3::text[], $4::text[]) AS l(seq, message, fields)
WHERE t.task_try_id = $1 AND t.seq = l.seq
