-- Active, unpaused DAGs with asset events queued, each with the URIs of the queued events'
-- assets and its newest version (whose structure holds its asset condition).
-- $1 most DAGs to return
SELECT q.dag_id, array_agg(DISTINCT a.uri) AS uris, v.id AS dag_version_id
FROM asset_dag_run_queue q
JOIN dag d ON d.id = q.dag_id AND d.is_active AND NOT d.paused
JOIN asset a ON a.id = q.asset_id
JOIN LATERAL (SELECT id FROM dag_version WHERE dag_id = d.id ORDER BY version_number DESC LIMIT 1) v ON true
GROUP BY q.dag_id, v.id
ORDER BY q.dag_id
LIMIT $1
