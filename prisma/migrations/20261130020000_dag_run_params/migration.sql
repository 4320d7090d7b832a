-- A run's params: its conf validated against the DAG's params schema, with the schema's
-- defaults filled in (what tasks get as `context().params`). Null when the DAG has no schema.

-- AlterTable
ALTER TABLE "dag_run" ADD COLUMN "params" JSONB;
