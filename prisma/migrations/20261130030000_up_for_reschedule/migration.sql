-- A reschedule-mode sensor between two checks: its slot is free, its next check waits
-- for next_try_at (Airflow's up_for_reschedule).

-- AlterEnum
ALTER TYPE "TaskInstanceState" ADD VALUE 'up_for_reschedule' AFTER 'up_for_retry';
