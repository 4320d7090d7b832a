-- CreateEnum
CREATE TYPE "DagRunState" AS ENUM ('queued', 'running', 'success', 'failed');

-- CreateEnum
CREATE TYPE "DagRunType" AS ENUM ('manual', 'scheduled', 'backfill', 'asset_triggered');

-- CreateEnum
CREATE TYPE "TaskInstanceState" AS ENUM ('none', 'scheduled', 'queued', 'running', 'success', 'failed', 'up_for_retry', 'upstream_failed', 'skipped', 'removed');

-- CreateTable
CREATE TABLE "dag" (
    "id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "description" TEXT,
    "schedule" TEXT,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dag_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bundle" (
    "hash" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "bundle_pkey" PRIMARY KEY ("hash")
);

-- CreateTable
CREATE TABLE "dag_version" (
    "id" SERIAL NOT NULL,
    "dag_id" TEXT NOT NULL,
    "version_number" INTEGER NOT NULL,
    "bundle_hash" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "structure_hash" TEXT NOT NULL,
    "structure" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dag_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dag_run" (
    "id" SERIAL NOT NULL,
    "dag_id" TEXT NOT NULL,
    "dag_version_id" INTEGER NOT NULL,
    "run_id" TEXT NOT NULL,
    "run_type" "DagRunType" NOT NULL,
    "state" "DagRunState" NOT NULL DEFAULT 'queued',
    "logical_date" TIMESTAMPTZ(6) NOT NULL,
    "data_interval_start" TIMESTAMPTZ(6),
    "data_interval_end" TIMESTAMPTZ(6),
    "conf" JSONB NOT NULL DEFAULT '{}',
    "queued_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "ended_at" TIMESTAMPTZ(6),

    CONSTRAINT "dag_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_instance" (
    "id" BIGSERIAL NOT NULL,
    "dag_run_id" INTEGER NOT NULL,
    "task_id" TEXT NOT NULL,
    "map_index" INTEGER NOT NULL DEFAULT -1,
    "state" "TaskInstanceState" NOT NULL DEFAULT 'none',
    "try_number" INTEGER NOT NULL DEFAULT 0,
    "max_tries" INTEGER NOT NULL,
    "queue" TEXT NOT NULL DEFAULT 'default',
    "pool" TEXT NOT NULL DEFAULT 'default_pool',
    "priority_weight" INTEGER NOT NULL DEFAULT 1,
    "queued_at" TIMESTAMPTZ(6),
    "started_at" TIMESTAMPTZ(6),
    "ended_at" TIMESTAMPTZ(6),
    "next_try_at" TIMESTAMPTZ(6),
    "upstream_success_count" INTEGER NOT NULL DEFAULT 0,
    "upstream_skipped_count" INTEGER NOT NULL DEFAULT 0,
    "upstream_failed_count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "task_instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_try" (
    "id" BIGSERIAL NOT NULL,
    "task_instance_id" BIGINT NOT NULL,
    "try_number" INTEGER NOT NULL,
    "state" "TaskInstanceState" NOT NULL,
    "worker_id" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL,
    "ended_at" TIMESTAMPTZ(6),
    "error" JSONB,

    CONSTRAINT "task_try_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "xcom" (
    "id" BIGSERIAL NOT NULL,
    "task_instance_id" BIGINT NOT NULL,
    "key" TEXT NOT NULL DEFAULT 'return_value',
    "value" JSONB,
    "size_bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "xcom_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_log" (
    "id" BIGSERIAL NOT NULL,
    "task_try_id" BIGINT NOT NULL,
    "seq" INTEGER NOT NULL,
    "level" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "fields" JSONB,
    "logged_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "task_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "import_error" (
    "id" SERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "import_error_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "worker" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMPTZ(6),

    CONSTRAINT "worker_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "dag_version_bundle_hash_idx" ON "dag_version"("bundle_hash");

-- CreateIndex
CREATE UNIQUE INDEX "dag_version_dag_id_version_number_key" ON "dag_version"("dag_id", "version_number");

-- CreateIndex
CREATE INDEX "dag_run_dag_version_id_idx" ON "dag_run"("dag_version_id");

-- CreateIndex
CREATE INDEX "dag_run_state_idx" ON "dag_run"("state");

-- CreateIndex
CREATE UNIQUE INDEX "dag_run_dag_id_run_id_key" ON "dag_run"("dag_id", "run_id");

-- CreateIndex
CREATE UNIQUE INDEX "dag_run_dag_id_logical_date_key" ON "dag_run"("dag_id", "logical_date");

-- CreateIndex
CREATE INDEX "task_instance_dag_run_id_state_idx" ON "task_instance"("dag_run_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "task_instance_dag_run_id_task_id_map_index_key" ON "task_instance"("dag_run_id", "task_id", "map_index");

-- CreateIndex
CREATE INDEX "task_try_worker_id_state_idx" ON "task_try"("worker_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "task_try_task_instance_id_try_number_key" ON "task_try"("task_instance_id", "try_number");

-- CreateIndex
CREATE UNIQUE INDEX "xcom_task_instance_id_key_key" ON "xcom"("task_instance_id", "key");

-- CreateIndex
CREATE UNIQUE INDEX "task_log_task_try_id_seq_key" ON "task_log"("task_try_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "import_error_source_file_name_key" ON "import_error"("source", "file_name");

-- AddForeignKey
ALTER TABLE "dag_version" ADD CONSTRAINT "dag_version_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dag"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_version" ADD CONSTRAINT "dag_version_bundle_hash_fkey" FOREIGN KEY ("bundle_hash") REFERENCES "bundle"("hash") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_run" ADD CONSTRAINT "dag_run_dag_id_fkey" FOREIGN KEY ("dag_id") REFERENCES "dag"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dag_run" ADD CONSTRAINT "dag_run_dag_version_id_fkey" FOREIGN KEY ("dag_version_id") REFERENCES "dag_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_instance" ADD CONSTRAINT "task_instance_dag_run_id_fkey" FOREIGN KEY ("dag_run_id") REFERENCES "dag_run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_try" ADD CONSTRAINT "task_try_task_instance_id_fkey" FOREIGN KEY ("task_instance_id") REFERENCES "task_instance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "xcom" ADD CONSTRAINT "xcom_task_instance_id_fkey" FOREIGN KEY ("task_instance_id") REFERENCES "task_instance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_log" ADD CONSTRAINT "task_log_task_try_id_fkey" FOREIGN KEY ("task_try_id") REFERENCES "task_try"("id") ON DELETE CASCADE ON UPDATE CASCADE;
