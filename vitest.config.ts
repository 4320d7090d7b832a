import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for the libraries (graphql has no exports map),
    // while Vite would pick its ESM build for our sources: two GraphQLError classes.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  // Tests run the workspace packages' TypeScript sources (their "@updraft/source" export), not
  // their built dist/: no rebuild after an edit. See ARCHITECTURE.md.
  // The rest is Vite's default list for server code.
  ssr: { resolve: { conditions: ['@updraft/source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['test/**/*.test.ts', 'server/**/*.test.ts', 'sdk/**/*.test.ts', 'plugins/**/*.test.ts'],
    // Starts (or connects to) PostgreSQL once and prepares a migrated template database
    // that each test file clones (test/support/db.ts).
    // Builds the packages first (incremental: well under a second when nothing changed), since
    // tests that spawn the `updraft` CLI run its compiled JavaScript as users do.
    globalSetup: ['test/support/build-packages.ts', 'test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    typecheck: {
      enabled: true,
      include: ['sdk/**/*.test-d.ts', 'test/**/*.test-d.ts'],
    },
  },
});
