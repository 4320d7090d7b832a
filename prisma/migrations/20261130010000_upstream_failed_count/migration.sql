-- Trigger rules tell `failed` upstreams from `upstream_failed` ones (`one_done` counts only
-- the former): the count of the latter gets a column of its own.

-- AlterTable
ALTER TABLE "task_instance" ADD COLUMN "upstream_upstream_failed_count" INTEGER NOT NULL DEFAULT 0;
