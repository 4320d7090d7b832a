-- Capacity controls: pools of slots shared by all workers, named worker queues, DAG-wide
-- maxActiveTasks and priority weights (see executor/capacity.ts).

-- AlterTable
ALTER TABLE "dag" ADD COLUMN "max_active_tasks" INTEGER;

-- AlterTable
ALTER TABLE "task_instance" ADD COLUMN "pool_slots" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN "gated" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "worker" ADD COLUMN "queues" TEXT[] DEFAULT ARRAY['default']::TEXT[];

-- CreateTable
CREATE TABLE "pool" (
    "name" TEXT NOT NULL,
    "slots" INTEGER,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pool_pkey" PRIMARY KEY ("name")
);

INSERT INTO "pool" ("name", "slots", "description") VALUES ('default_pool', NULL, 'Every task not given a pool; unlimited until its slots are set.');

-- Both indexes hold gated instances only: tasks that no limit governs never enter them.
-- A pool's occupied slots: a few entries, not the pool's history.
CREATE INDEX "task_instance_pool_occupied_idx" ON "task_instance"("pool", "pool_slots") WHERE gated AND state IN ('queued', 'running');

-- A pool's instances waiting for admission, highest weight first (scanned backwards).
CREATE INDEX "task_instance_pool_waiting_idx" ON "task_instance"("pool", "priority_weight", "id") WHERE gated AND state IN ('scheduled', 'up_for_retry', 'up_for_reschedule');
