-- DAGs the scheduler creates runs for, with when their next run is due (null and not
-- planned: the scheduler computes it; null and planned: no more runs).
SELECT id, next_run_planned, next_dagrun_create_after FROM dag WHERE schedule IS NOT NULL AND is_active AND NOT paused ORDER BY id
