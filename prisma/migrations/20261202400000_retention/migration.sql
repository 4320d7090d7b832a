-- Retention (issue 10): a DAG's own retention period, and one row per retention pass saying
-- what it deleted.

-- AlterTable
ALTER TABLE "dag" ADD COLUMN "retention_days" INTEGER;

-- CreateTable
CREATE TABLE "retention_pass" (
    "id" SERIAL NOT NULL,
    "trigger" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMPTZ(6),
    "policy" JSONB NOT NULL,
    "deleted" JSONB NOT NULL DEFAULT '{}',
    "batches" INTEGER NOT NULL DEFAULT 0,
    "max_batch_ms" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "retention_pass_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "retention_pass_started_at_idx" ON "retention_pass"("started_at");
