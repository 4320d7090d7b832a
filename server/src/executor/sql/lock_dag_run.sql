-- Taken last in a finishing transaction and held only until commit: whoever holds it
-- sees every task instance that finished before, so exactly one finisher ends the run.
-- $1 dag run id
SELECT state FROM dag_run WHERE id = $1 FOR NO KEY UPDATE
