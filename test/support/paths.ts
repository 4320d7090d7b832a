import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Scratch space of one test run inside the repository (removed by the global teardown).
 * One folder per `vitest` run, so that runs side by side never remove each other's files:
 * the global setup names it, and the test processes it starts inherit the name.
 */
export const TEST_SCRATCH = (process.env.UPDRAFT_TEST_SCRATCH ??= path.join(REPO_ROOT, '.updraft', 'test', `run-${process.pid}`));

/** The ids of the DAGs in examples/dags (what `npm start` deploys), in id order. */
export const EXAMPLE_DAG_IDS = [
  'branching',
  'daily_etl',
  'daily_report',
  'hello_world',
  'maintenance_db_cleanup',
  'maintenance_log_cleanup',
  'maintenance_orphan_sweep',
  'mapping_fanout',
  'providers',
  'sensor_file',
  'trigger_rules',
  'tutorial_taskflow',
];
