-- Dynamic task mapping: a mapped instance keeps the item it maps over, and a downstream
-- instance counts the extra upstream instances that mapped upstream tasks expanded into.

-- AlterTable
ALTER TABLE "task_instance" ADD COLUMN "map_item" JSONB,
ADD COLUMN "upstream_extra_count" INTEGER NOT NULL DEFAULT 0;

-- The instances of a mapped task waiting for a slot (maxActiveTisPerTask) are found by
-- (run, state, task) in map_index order; the index still serves lookups by (run, state).
-- DropIndex
DROP INDEX "task_instance_dag_run_id_state_idx";

-- CreateIndex
CREATE INDEX "task_instance_dag_run_id_state_task_id_map_index_idx" ON "task_instance"("dag_run_id", "state", "task_id", "map_index");
