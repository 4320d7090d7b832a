-- $1 dag version id
SELECT structure FROM dag_version WHERE id = $1
