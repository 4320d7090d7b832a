-- Assets (event-driven scheduling) and signed webhooks. A successful try of a task with
-- outlets writes an asset_event and, for every DAG whose schedule names the asset, an
-- asset_dag_run_queue row, in the try's finishing transaction; the scheduler turns a
-- DAG's queued rows into an asset-triggered run once its condition holds, deleting the rows
-- and linking the events to the run (dag_run_asset_event) in the run's own transaction.

-- CreateTable
CREATE TABLE "asset" (
    "id" SERIAL NOT NULL,
    "uri" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "asset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "asset_event" (
    "id" BIGSERIAL NOT NULL,
    "asset_id" INTEGER NOT NULL,
    "extra" JSONB NOT NULL DEFAULT '{}',
    "source_dag_id" TEXT,
    "source_dag_run_id" INTEGER,
    "source_task_id" TEXT,
    "source_map_index" INTEGER,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "asset_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dag_schedule_asset" (
    "dag_id" TEXT NOT NULL,
    "asset_id" INTEGER NOT NULL,

    CONSTRAINT "dag_schedule_asset_pkey" PRIMARY KEY ("dag_id","asset_id")
);

-- CreateTable
CREATE TABLE "asset_dag_run_queue" (
    "dag_id" TEXT NOT NULL,
    "asset_event_id" BIGINT NOT NULL,
    "asset_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "asset_dag_run_queue_pkey" PRIMARY KEY ("dag_id","asset_event_id")
);

-- CreateTable
CREATE TABLE "dag_run_asset_event" (
    "dag_run_id" INTEGER NOT NULL,
    "asset_event_id" BIGINT NOT NULL,

    CONSTRAINT "dag_run_asset_event_pkey" PRIMARY KEY ("dag_run_id","asset_event_id")
);

-- CreateTable
CREATE TABLE "webhook_delivery" (
    "signature_hash" BYTEA NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_delivery_pkey" PRIMARY KEY ("signature_hash")
);

-- CreateIndex
CREATE UNIQUE INDEX "asset_uri_key" ON "asset"("uri");

-- CreateIndex
CREATE INDEX "asset_event_asset_id_id_idx" ON "asset_event"("asset_id", "id");

-- CreateIndex
CREATE INDEX "asset_event_source_dag_run_id_idx" ON "asset_event"("source_dag_run_id");

-- CreateIndex
CREATE INDEX "dag_schedule_asset_asset_id_idx" ON "dag_schedule_asset"("asset_id");

-- CreateIndex
CREATE INDEX "asset_dag_run_queue_asset_event_id_idx" ON "asset_dag_run_queue"("asset_event_id");

-- CreateIndex
CREATE INDEX "asset_dag_run_queue_asset_id_idx" ON "asset_dag_run_queue"("asset_id");

-- CreateIndex
CREATE INDEX "dag_run_asset_event_asset_event_id_idx" ON "dag_run_asset_event"("asset_event_id");

-- CreateIndex
CREATE INDEX "webhook_delivery_received_at_idx" ON "webhook_delivery"("received_at");

-- AddForeignKey
ALTER TABLE "asset_event" ADD CONSTRAINT "asset_event_asset_id_fkey" FOREIGN KEY ("asset_id") REFERENCES "asset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "asset_event" ADD CONSTRAINT "asset_event_source_dag_run_id_fkey" FOREIGN KEY ("source_dag_run_id") REFERENCES "dag_run"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_schedule_asset" ADD CONSTRAINT "dag_schedule_asset_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dag"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_schedule_asset" ADD CONSTRAINT "dag_schedule_asset_asset_id_fkey" FOREIGN KEY ("asset_id") REFERENCES "asset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "asset_dag_run_queue" ADD CONSTRAINT "asset_dag_run_queue_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dag"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "asset_dag_run_queue" ADD CONSTRAINT "asset_dag_run_queue_asset_event_id_fkey" FOREIGN KEY ("asset_event_id") REFERENCES "asset_event"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "asset_dag_run_queue" ADD CONSTRAINT "asset_dag_run_queue_asset_id_fkey" FOREIGN KEY ("asset_id") REFERENCES "asset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_run_asset_event" ADD CONSTRAINT "dag_run_asset_event_dag_run_id_fkey" FOREIGN KEY ("dag_run_id") REFERENCES "dag_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_run_asset_event" ADD CONSTRAINT "dag_run_asset_event_asset_event_id_fkey" FOREIGN KEY ("asset_event_id") REFERENCES "asset_event"("id") ON DELETE CASCADE ON UPDATE CASCADE;
