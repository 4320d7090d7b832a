-- Consumes every event queued for a DAG into its new asset-triggered run, in the run's
-- creating transaction: the queue rows are deleted (a concurrent scheduler consuming the
-- same DAG waits on them, then finds them gone) and the events linked to the run. Returns
-- the URIs of the consumed events' assets, for the caller to check the condition still holds.
-- $1 dag id, $2 dag run id
WITH consumed AS (
  DELETE FROM asset_dag_run_queue WHERE dag_id = $1 RETURNING asset_event_id, asset_id
), linked AS (
  INSERT INTO dag_run_asset_event (dag_run_id, asset_event_id) SELECT $2, asset_event_id FROM consumed
)
SELECT DISTINCT a.uri FROM consumed c JOIN asset a ON a.id = c.asset_id
