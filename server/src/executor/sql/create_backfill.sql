-- A backfill of a DAG over a range of logical dates; runs_created is set once its runs exist.
-- $1 dag id, $2 from, $3 to, $4 reprocess, $5 max active runs, $6 created by
INSERT INTO backfill (dag_id, from_date, to_date, reprocess, max_active_runs, runs_created, created_by)
VALUES ($1, $2, $3, $4::"BackfillReprocess", $5, 0, $6)
RETURNING id
