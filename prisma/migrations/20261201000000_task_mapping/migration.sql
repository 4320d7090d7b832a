-- Dynamic task mapping: a mapped instance keeps the item it maps over, and a downstream
-- instance counts the extra upstream instances that mapped upstream tasks expanded into.

-- AlterTable
ALTER TABLE "task_instance" ADD COLUMN "map_item" JSONB,
ADD COLUMN "upstream_extra_count" INTEGER NOT NULL DEFAULT 0;

