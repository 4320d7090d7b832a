-- $1 backfill id, $2 runs created
UPDATE backfill SET runs_created = $2 WHERE id = $1
