-- The pools with gated instances waiting, for the periodic admission pass (an index-only
-- look at the waiting instances' index: nothing to read when nothing waits).
SELECT array(SELECT DISTINCT pool FROM task_instance WHERE gated AND state IN ('scheduled', 'up_for_retry', 'up_for_reschedule')) AS pools
