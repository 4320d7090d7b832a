import { defineConfig } from 'prisma/config';

// The server applies migrations itself (server/src/db/migrate.ts); this file only
// tells the Prisma CLI where the schema and migrations are.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/updraft' },
});
