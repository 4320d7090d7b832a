-- $1 try id, $2 seq[], $3 level[], $4 message[], $5 fields (json text)[], $6 logged at[]
INSERT INTO task_log (task_try_id, seq, level, message, fields, logged_at)
SELECT $1, s.seq, s.level, s.message, s.fields::jsonb, s.logged_at
FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS s(seq, level, message, fields, logged_at)
