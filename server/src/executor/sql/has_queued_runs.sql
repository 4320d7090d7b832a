-- Whether a DAG has runs waiting `queued` for a free slot.
-- $1 dag id
SELECT EXISTS (SELECT 1 FROM dag_run WHERE dag_id = $1 AND state = 'queued') AS queued
