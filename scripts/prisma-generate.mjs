// Runs `prisma generate` after install. Prisma's CLI looks for a schema-engine binary
// that these machines cannot download; generation does not use it, so any existing
// file satisfies the check (see ARCHITECTURE.md, "Prisma without its engines").
import { spawnSync } from 'node:child_process';

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath };
const result = spawnSync('npx', ['prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
