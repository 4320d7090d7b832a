// Runs once per `vitest` invocation, before the database setup: brings the packages' dist/ up
// to date (scripts/build-packages.mjs, incremental), because tests that spawn the `updraft` CLI
// or pack a package run the compiled JavaScript, as users do. In-process tests run the sources.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

export default function setup(): void {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-packages.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the packages failed (node scripts/build-packages.mjs):\n${result.stdout}${result.stderr}`);
}
