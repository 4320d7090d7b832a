// @updraft/plugin-maintenance: the maintenance DAGs. Re-export them from a DAG file to load
// them: `export { maintenanceDbCleanup, maintenanceLogCleanup, maintenanceOrphanSweep } from '@updraft/plugin-maintenance';`
export { maintenance, MaintenanceUnavailable } from './access.js';
export {
  DbCleanupParams,
  LogCleanupParams,
  maintenanceDbCleanup,
  maintenanceLogCleanup,
  maintenanceOrphanSweep,
  type CleanupCounts,
  type OrphanSweepCounts,
} from './dags.js';
