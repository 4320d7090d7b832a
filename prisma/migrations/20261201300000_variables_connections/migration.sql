-- Variables and connections: what tasks read at run time with variable(key) and
-- connection(id). Secret values (a secret variable's value, a connection's password and
-- extra fields) are stored only encrypted (server/src/secrets/key.ts).

-- CreateTable
CREATE TABLE "variable" (
    "key" TEXT NOT NULL,
    "value" TEXT,
    "encrypted_value" BYTEA,
    "is_secret" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "variable_pkey" PRIMARY KEY ("key"),
    -- A secret variable has only its ciphertext, any other only its plain value.
    CONSTRAINT "variable_value_check" CHECK (CASE WHEN "is_secret" THEN "value" IS NULL AND "encrypted_value" IS NOT NULL ELSE "value" IS NOT NULL AND "encrypted_value" IS NULL END)
);

-- CreateTable
CREATE TABLE "connection" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "host" TEXT,
    "port" INTEGER,
    "login" TEXT,
    "encrypted_password" BYTEA,
    "schema" TEXT,
    "encrypted_extra" BYTEA,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "connection_pkey" PRIMARY KEY ("id")
);
