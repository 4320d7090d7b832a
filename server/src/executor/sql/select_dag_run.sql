-- A run's DAG, pinned version and state.
-- $1 dag run id
SELECT dag_id, dag_version_id, state::text FROM dag_run WHERE id = $1
