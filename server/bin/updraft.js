#!/usr/bin/env node
// The `updraft` CLI: the compiled server (dist/, built by `npm run build` or the monorepo's
// postinstall; the published package ships it). No TypeScript loader at run time.
await import('../dist/cli/main.js');
