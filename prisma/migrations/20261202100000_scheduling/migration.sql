-- Scheduling (issue 9): a DAG's timezone, start and end dates, catchup and maxActiveRuns as
-- last deployed; the scheduler's cursor per DAG (Airflow's next_dagrun columns: the next
-- scheduled run's logical date, data interval, and when it is due); and backfills, whose
-- runs point at them.

-- CreateEnum
CREATE TYPE "BackfillReprocess" AS ENUM ('none', 'failed', 'all');

-- AlterTable
ALTER TABLE "dag" ADD COLUMN "timezone" TEXT NOT NULL DEFAULT 'UTC',
ADD COLUMN "start_date" TIMESTAMPTZ(6),
ADD COLUMN "end_date" TIMESTAMPTZ(6),
ADD COLUMN "catchup" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "max_active_runs" INTEGER NOT NULL DEFAULT 16,
ADD COLUMN "next_run_planned" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "next_dagrun" TIMESTAMPTZ(6),
ADD COLUMN "next_data_interval_start" TIMESTAMPTZ(6),
ADD COLUMN "next_data_interval_end" TIMESTAMPTZ(6),
ADD COLUMN "next_dagrun_create_after" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "dag_run" ADD COLUMN "backfill_id" INTEGER;

-- CreateTable
CREATE TABLE "backfill" (
    "id" SERIAL NOT NULL,
    "dag_id" TEXT NOT NULL,
    "from_date" TIMESTAMPTZ(6) NOT NULL,
    "to_date" TIMESTAMPTZ(6) NOT NULL,
    "reprocess" "BackfillReprocess" NOT NULL,
    "max_active_runs" INTEGER NOT NULL,
    "runs_created" INTEGER NOT NULL,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cancelled_at" TIMESTAMPTZ(6),

    CONSTRAINT "backfill_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "backfill_dag_id_id_idx" ON "backfill"("dag_id", "id");

-- CreateIndex
CREATE INDEX "dag_run_backfill_id_state_idx" ON "dag_run"("backfill_id", "state");

-- CreateIndex
CREATE INDEX "dag_run_dag_id_state_idx" ON "dag_run"("dag_id", "state");

-- AddForeignKey
ALTER TABLE "dag_run" ADD CONSTRAINT "dag_run_backfill_id_fkey" FOREIGN KEY ("backfill_id") REFERENCES "backfill"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backfill" ADD CONSTRAINT "backfill_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dag"("id") ON DELETE CASCADE ON UPDATE CASCADE;
