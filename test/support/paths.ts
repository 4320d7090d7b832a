import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Scratch space of one test run inside the repository (removed by the global teardown).
 * One folder per `vitest` run, so that runs side by side never remove each other's files:
 * the global setup names it, and the test processes it starts inherit the name.
 */
export const TEST_SCRATCH = (process.env.UPDRAFT_TEST_SCRATCH ??= path.join(REPO_ROOT, '.updraft', 'test', `run-${process.pid}`));
