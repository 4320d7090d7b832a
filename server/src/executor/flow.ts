import type { DagStructure, TaskStructure } from '../dags/structure.js';
import { timetableOf } from '../dags/timetable.js';
import { outcomeValue, type TryOutcome } from './transitions.js';

/**
 * What a finished branch, short-circuit or latest-only task skips (Airflow's
 * `SkipMixin`): `direct` tasks are skipped whatever their trigger rules and their own
 * downstream tasks then follow their rules; `all` skips every task downstream.
 */
export type Skip = { direct: string[] } | { all: true };

/** The skip a branch or short-circuit task's successful outcome calls for; a bad branch choice fails the try. */
export function flowOf(task: TaskStructure, outcome: TryOutcome): TryOutcome {
  if (outcome.kind !== 'success' || !task.kind) return outcome;
  const value = outcomeValue(outcome);
  if (task.kind.type === 'short_circuit') {
    if (truthy(value)) return outcome;
    return { ...outcome, skip: task.kind.respectTriggerRules ? { direct: task.downstreamIds } : { all: true } };
  }
  if (task.kind.type === 'branch') {
    const chosen = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
    const strange = chosen.filter((id) => typeof id !== 'string' || !task.downstreamIds.includes(id));
    if (strange.length > 0) {
      const options = task.downstreamIds.length > 0 ? task.downstreamIds.map((id) => `"${id}"`).join(', ') : 'none (it has no downstream tasks)';
      return {
        kind: 'failed',
        error: {
          name: 'InvalidBranch',
          message: `branch "${task.id}" chose ${strange.map((id) => JSON.stringify(id)).join(', ')}, which is not one of its direct downstream tasks: ${options}; return their ids, or null to skip them all`,
        },
        retryable: false,
      };
    }
    return { ...outcome, skip: { direct: task.downstreamIds.filter((id) => !chosen.includes(id)) } };
  }
  return outcome;
}

/**
 * A latest-only node's outcome (it runs no user code): its downstream tasks run in manual
 * runs and in the latest scheduled run, the one whose schedule tick has no successor yet;
 * in a run for an older tick they are skipped.
 */
export function latestOnlyOutcome(structure: DagStructure, task: TaskStructure, run: { runType: string; logicalDate: Date }, now = new Date()): TryOutcome {
  // The run for the next interval is due once that interval ends: past it, this run is not the latest.
  const timetable = timetableOf(structure.schedule, structure.timezone ?? 'UTC', structure.startDate ? new Date(structure.startDate) : null);
  const successorDue = timetable && timetable.kind !== 'once' ? timetable.next(timetable.next(run.logicalDate)) : null;
  const older = run.runType === 'scheduled' && successorDue !== null && successorDue <= now;
  return { kind: 'success', value: undefined, ...(older ? { skip: { direct: task.downstreamIds } } : {}) };
}

/** Python's truthiness, which Airflow's short-circuit and sensors use: empty arrays and objects are falsy too. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map || value instanceof Set) return value.size > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}
