-- The read side of the API: each DAG version keeps its file's source text, a DAG's runs are
-- found newest first through one index range, and schedulers heartbeat like workers so that
-- `health` can tell whether any is alive.

-- AlterTable
ALTER TABLE "dag_version" ADD COLUMN "source_code" TEXT;

-- CreateIndex
CREATE INDEX "dag_run_dag_id_id_idx" ON "dag_run"("dag_id", "id");

-- CreateTable
CREATE TABLE "scheduler" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMPTZ(6),

    CONSTRAINT "scheduler_pkey" PRIMARY KEY ("id")
);
