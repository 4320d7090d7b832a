-- DAGs the scheduler creates runs for.
SELECT id, schedule, created_at FROM dag WHERE schedule IS NOT NULL AND is_active AND NOT paused ORDER BY id
