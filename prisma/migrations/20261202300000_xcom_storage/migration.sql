-- XCom at any size (see ARCHITECTURE.md, "XCom at any size"). A value is stored one of three
-- ways: plain JSON inline in `value` (jsonb; every row written before this migration, which
-- therefore stays readable as it is), devalue's text inline in `serialized` (Date, Map, Set,
-- BigInt, undefined, typed arrays, strings with NUL…), or, above the inline threshold, in the
-- object store under `blob_key` (its text in `encoding`, checked against `blob_sha256`).
-- Deleting or replacing a row with a blob leaves a tombstone that sweepDeletedBlobs() empties,
-- whatever deletes the row (a DAG deleted, a task cleared, retention, a cascade).

-- AlterTable
ALTER TABLE "xcom" ADD COLUMN "encoding" TEXT NOT NULL DEFAULT 'json',
ADD COLUMN "serialized" TEXT,
ADD COLUMN "blob_key" TEXT,
ADD COLUMN "blob_sha256" TEXT,
ADD CONSTRAINT "xcom_stored_check" CHECK (
  "encoding" IN ('json', 'devalue')
  AND num_nonnulls("value", "serialized", "blob_key") = 1
  AND ("serialized" IS NULL OR "encoding" = 'devalue')
  AND ("value" IS NULL OR "encoding" = 'json')
  AND (("blob_key" IS NULL) = ("blob_sha256" IS NULL))
) NOT VALID;

-- A list that is not inline plain JSON, which a mapped task maps over, is split by the worker
-- into its items when it is stored (item_count of them in xcom_item), each plain JSON (value)
-- or devalue text (serialized), so that expanding the mapped task stays one SQL statement;
-- a mapped instance's item is then plain JSON (map_item) or devalue text (map_item_serialized).
ALTER TABLE "xcom" ADD COLUMN "item_count" INTEGER;
ALTER TABLE "task_instance" ADD COLUMN "map_item_serialized" TEXT;

-- CreateTable
CREATE TABLE "xcom_item" (
    "xcom_id" BIGINT NOT NULL,
    "idx" INTEGER NOT NULL,
    "value" JSONB,
    "serialized" TEXT,

    CONSTRAINT "xcom_item_pkey" PRIMARY KEY ("xcom_id","idx"),
    CONSTRAINT "xcom_item_stored_check" CHECK (num_nonnulls("value", "serialized") = 1)
);

-- AddForeignKey
ALTER TABLE "xcom_item" ADD CONSTRAINT "xcom_item_xcom_id_fkey" FOREIGN KEY ("xcom_id") REFERENCES "xcom"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "xcom_blob_tombstone" (
    "key" TEXT NOT NULL,
    "delete_after" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "xcom_blob_tombstone_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "xcom_blob_tombstone_delete_after_idx" ON "xcom_blob_tombstone"("delete_after");

-- A row's blob outlives it only as a tombstone. Row triggers with WHEN: rows without a blob
-- queue nothing, so clearing and retention pay only for the blobs they delete.
CREATE FUNCTION "xcom_blob_tombstone"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO xcom_blob_tombstone (key) VALUES (OLD.blob_key)
  ON CONFLICT (key) DO UPDATE SET delete_after = LEAST(xcom_blob_tombstone.delete_after, excluded.delete_after);
  RETURN NULL;
END $$;
CREATE TRIGGER "xcom_blob_deleted" AFTER DELETE ON "xcom"
  FOR EACH ROW WHEN (OLD.blob_key IS NOT NULL) EXECUTE FUNCTION "xcom_blob_tombstone"();
CREATE TRIGGER "xcom_blob_replaced" AFTER UPDATE OF "blob_key" ON "xcom"
  FOR EACH ROW WHEN (OLD.blob_key IS NOT NULL AND OLD.blob_key IS DISTINCT FROM NEW.blob_key) EXECUTE FUNCTION "xcom_blob_tombstone"();
