-- What is in use, counted after the locks were taken (so every admission committed before is
-- seen): each pool's slots held by gated instances queued or running, and each DAG's gated
-- instances queued or running across its unfinished runs.
-- $1 pools, $2 dag ids
SELECT 'pool' AS kind, p.name,
       coalesce((SELECT sum(ti.pool_slots) FROM task_instance ti WHERE ti.pool = p.name AND ti.gated AND ti.state IN ('queued', 'running')), 0)::int AS used
FROM unnest($1::text[]) AS p(name)
UNION ALL
SELECT 'dag', d.name,
       (SELECT count(*) FROM dag_run r JOIN task_instance ti ON ti.dag_run_id = r.id
        WHERE r.dag_id = d.name AND r.state IN ('queued', 'running') AND ti.gated AND ti.state IN ('queued', 'running'))::int
FROM unnest($2::text[]) AS d(name)
