// Runs once per `vitest` invocation, before the database setup: brings the packages' dist/ up
// to date (scripts/build-packages.mjs, incremental), because tests that spawn the `updraft` CLI
// or pack a package run the compiled JavaScript, as users do. In-process tests run the sources.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

export default function setup(): void {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-packages.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  // A type error is reported, not fatal: tsc still emitted the JavaScript, and type errors are
  // the type check's job (npx tsc -p tsconfig.json, vitest's typecheck).
  if (result.status !== 0) console.warn(`warning: building the packages reported errors (node scripts/build-packages.mjs); CLI tests run what was emitted:\n${result.stdout}${result.stderr}`);
}
