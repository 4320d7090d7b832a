-- Whether a DAG may get a new run. $1 dag id
SELECT paused, is_active FROM dag WHERE id = $1
