-- A finished run whose task instances an operator cleared or marked runs again, until
-- finish_dag_run.sql decides its state anew.
-- $1 dag run id
UPDATE dag_run r SET state = 'running', ended_at = NULL
WHERE r.id = $1 AND r.state IN ('success', 'failed')
RETURNING id
