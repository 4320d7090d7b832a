-- The text of a try's stored log lines before a seq, to mask them again (TryLog.settle, when
-- the try read a secret after some of its lines were written).
-- $1 try id, $2 first seq not included
SELECT seq, message, fields
FROM task_log
WHERE task_try_id = $1 AND seq < $2
ORDER BY seq
