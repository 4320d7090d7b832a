// The enums of runs and task instances, described for API users; the states themselves are
// defined by the executor (executor/states.ts) and the database enums.
import { TASK_INSTANCE_STATES, type TaskInstanceState as State } from '../../executor/states.js';
import { builder } from '../builder.js';

const TASK_INSTANCE_STATE_DESCRIPTIONS: Record<State, string> = {
  none: 'Not scheduled yet: waiting for its upstream tasks (Airflow’s “no status”).',
  scheduled: 'Its trigger rule let it run, or it waits for a mapped task’s `maxActiveTisPerTask` slot.',
  queued: 'Waiting for a worker to take its job.',
  running: 'A try is running on a worker.',
  success: 'Ended well.',
  failed: 'Its last try failed and no retry is left (or the failure is not retried).',
  up_for_retry: 'A try failed; it runs again at `nextTryAt`.',
  up_for_reschedule: 'A reschedule-mode sensor whose condition did not hold yet; it checks again at `nextTryAt`.',
  upstream_failed: 'Did not run: an upstream task failed and its trigger rule needed it to succeed.',
  skipped: 'Did not run: skipped by a branch, a short-circuit, a trigger rule, `SkipError`, or a cancelled run.',
  removed: 'Its task is no longer in the DAG version the run uses.',
};

export const TaskInstanceState = builder.enumType('TaskInstanceState', {
  description: 'State of a task instance or of one of its tries (Airflow’s states).',
  values: Object.fromEntries(TASK_INSTANCE_STATES.map((state) => [state, { description: TASK_INSTANCE_STATE_DESCRIPTIONS[state] }])) as Record<
    State,
    { description: string }
  >,
});

export const DagRunState = builder.enumType('DagRunState', {
  description: 'State of a DAG run.',
  values: {
    queued: { description: 'Created, no task instance started yet.' },
    running: { description: 'At least one task instance has started and the run is not over.' },
    success: { description: 'Over, and no leaf task failed (or no task at all with `failRunOnAnyFailure`).' },
    failed: { description: 'Over with a failure: a leaf task failed or was upstream_failed (any task with `failRunOnAnyFailure`), or the run was cancelled or marked failed.' },
  } as const,
});

export const DagRunType = builder.enumType('DagRunType', {
  description: 'What created a DAG run.',
  values: {
    manual: { description: 'A trigger through the API or `updraft dags trigger`.' },
    scheduled: { description: 'The scheduler, at a tick of the DAG’s schedule.' },
    backfill: { description: 'A backfill over a range of logical dates (`backfill`).' },
    asset_triggered: { description: 'The scheduler, once the asset events its DAG is scheduled on met its condition (see `consumedAssetEvents`).' },
  } as const,
});

/** How many task instances are in one state. */
export interface StateCount {
  state: State;
  count: number;
}

export const TaskStateCount = builder.objectRef<StateCount>('TaskStateCount').implement({
  description: 'How many task instances are in one state.',
  fields: (t) => ({
    state: t.field({ type: TaskInstanceState, description: 'The state.', resolve: (c) => c.state }),
    count: t.exposeInt('count', { description: 'How many instances are in it (more than 0).' }),
  }),
});
