import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Scratch space of a test run inside the repository (removed by the global teardown). */
export const TEST_SCRATCH = path.join(REPO_ROOT, '.updraft', 'test');
