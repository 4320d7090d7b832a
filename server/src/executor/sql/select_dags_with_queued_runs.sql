-- DAGs that have runs waiting `queued`.
SELECT DISTINCT dag_id FROM dag_run WHERE state = 'queued'
