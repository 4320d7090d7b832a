import { context, MAINTENANCE_ACCESS, type MaintenanceAccess } from '@updraft/sdk';

/** Thrown by `maintenance()` in a task that does not run in its worker's process. */
export class MaintenanceUnavailable extends Error {
  override name = 'MaintenanceUnavailable';
}

/**
 * The platform's retention engine and lost-worker recovery, for the running task. Only a task
 * with `isolation: 'none'` (run in its worker's process) gets them; an isolated task (the
 * default) holds no database credentials and gets `MaintenanceUnavailable`.
 */
export function maintenance(): MaintenanceAccess {
  const ctx = context() as unknown as Record<symbol, MaintenanceAccess | undefined>;
  const access = ctx[MAINTENANCE_ACCESS];
  if (!access) {
    const { dagId, taskId } = context();
    throw new MaintenanceUnavailable(
      `DAG "${dagId}", task "${taskId}": maintenance operations run only in the worker's process; give the task isolation: 'none' (an isolated task has no database access)`,
    );
  }
  return access;
}
