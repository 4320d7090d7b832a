-- What a live worker holds, so that a dead worker's work is released at once and a try
-- that no live worker holds is closed by the sweep (server/src/executor/recovery.ts).

-- AlterTable
ALTER TABLE "task_try" ADD COLUMN "job_id" BIGINT;

-- AlterTable
ALTER TABLE "worker" ADD COLUMN "job_lockers" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "running_try_ids" BIGINT[] DEFAULT ARRAY[]::BIGINT[];
