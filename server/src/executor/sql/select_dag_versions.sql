-- $1 dag version ids
SELECT id, structure FROM dag_version WHERE id = ANY($1::int[])
