-- The data interval of a DAG's latest scheduled run.
-- $1 dag id
SELECT logical_date, data_interval_start, data_interval_end FROM dag_run
WHERE dag_id = $1 AND run_type = 'scheduled'
ORDER BY logical_date DESC
LIMIT 1
