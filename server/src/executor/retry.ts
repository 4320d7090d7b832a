import type { TaskStructure } from '../dags/structure.js';

/** Wait before try `nextTry` (2, 3, ...) of a task, per its retry policy. */
export function retryDelayMs(task: Pick<TaskStructure, 'retryDelayMs' | 'retryExponentialBackoff' | 'maxRetryDelayMs'>, nextTry: number): number {
  if (!task.retryExponentialBackoff) return Math.min(task.retryDelayMs, task.maxRetryDelayMs);
  return Math.min(task.retryDelayMs * 2 ** Math.max(0, nextTry - 2), task.maxRetryDelayMs);
}
