-- API authentication and the audit log: bearer tokens with a role and optional DAG grants
-- (by id or tag, hence the DAG's tags as a column), and one audit row per mutation attempt
-- and failed authentication.

-- AlterTable
ALTER TABLE "dag" ADD COLUMN "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- The tags of each DAG's newest version (deploys keep the column current from now on).
UPDATE "dag" SET "tags" = ARRAY(SELECT jsonb_array_elements_text(v."structure"->'tags'))
FROM (SELECT DISTINCT ON ("dag_id") "dag_id", "structure" FROM "dag_version" ORDER BY "dag_id", "version_number" DESC) v
WHERE v."dag_id" = "dag"."id" AND jsonb_typeof(v."structure"->'tags') = 'array';

-- CreateEnum
CREATE TYPE "ApiRole" AS ENUM ('viewer', 'user', 'op', 'admin');

-- CreateTable
CREATE TABLE "api_token" (
    "id" SERIAL NOT NULL,
    "prefix" TEXT NOT NULL,
    "name" TEXT,
    "secret_hash" BYTEA NOT NULL,
    "role" "ApiRole" NOT NULL,
    "dag_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6),
    "revoked_at" TIMESTAMPTZ(6),
    "last_used_at" TIMESTAMPTZ(6),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "actor_name" TEXT,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "dag_id" TEXT,
    "outcome" TEXT NOT NULL,
    "details" JSONB,
    "client_address" TEXT,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_token_prefix_key" ON "api_token"("prefix");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- CreateIndex
CREATE INDEX "audit_log_dag_id_at_idx" ON "audit_log"("dag_id", "at");
