-- A retention pass also records how many of the XCom rows it deleted had their value in the
-- object store: their blobs are deleted with them (see ARCHITECTURE.md, "Retention and blobs").

-- AlterTable
ALTER TABLE "retention_pass" ADD COLUMN "blobs" INTEGER NOT NULL DEFAULT 0;
