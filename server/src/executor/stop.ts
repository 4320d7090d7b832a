import { RunCancelled, TaskMarked } from '@updraft/sdk';

/**
 * An operator's reason for stopping a running try (the worker aborts the try's signal with
 * it, see worker.ts), or null when the signal was aborted because the worker is shutting
 * down. An operator's stop fails the try for good; a shutdown's is retried.
 */
export function operatorStop(signal: AbortSignal): { name: 'RunCancelled' | 'TaskMarked'; message: string } | null {
  const reason: unknown = signal.reason;
  if (reason instanceof RunCancelled || reason instanceof TaskMarked) return { name: reason.name as 'RunCancelled' | 'TaskMarked', message: reason.message };
  return null;
}

/** Why the worker stops a try it holds, from heartbeat_worker.sql's row for it. */
export function stopReason(row: { run_state: string; task_state: string }): Error {
  if (row.task_state !== 'running') return new TaskMarked(`the task instance was marked ${row.task_state} while the try was running`);
  return new RunCancelled(`the run was ${row.run_state === 'failed' ? 'cancelled' : `marked ${row.run_state}`} while the try was running`);
}
