// The maintenance DAGs of @updraft/plugin-maintenance, loaded like any DAG: they arrive paused.
// Try one without deleting anything: `npx updraft dags unpause maintenance_db_cleanup`, then
// `npx updraft dags trigger maintenance_db_cleanup --conf '{"dryRun": true}' --wait`.
export { maintenanceDbCleanup, maintenanceLogCleanup, maintenanceOrphanSweep } from '@updraft/plugin-maintenance';
