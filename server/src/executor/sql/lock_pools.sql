-- Locks pool rows in name order (the capacity lock order: pools, then DAG limits) before
-- their occupied slots are counted and instances admitted into them. A missing pool has no row.
-- $1 pool names
SELECT name, slots FROM pool WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE
