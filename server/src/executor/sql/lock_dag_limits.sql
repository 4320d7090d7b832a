-- Takes the maxActiveTasks lock of each DAG (a transaction-scoped advisory lock: the dag row
-- itself is left to deploys and pauses), in the order given (sorted by the caller), and
-- returns its limit as last deployed.
-- $1 dag ids, sorted
SELECT l.dag_id, d.max_active_tasks
FROM unnest($1::text[]) WITH ORDINALITY AS l(dag_id, n)
CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(hashtextextended('updraft.max_active_tasks:' || l.dag_id, 0))) AS locked
JOIN dag d ON d.id = l.dag_id
ORDER BY l.n
