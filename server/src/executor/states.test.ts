import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TaskInstanceState as PrismaTaskInstanceState } from '../generated/prisma/enums.js';
import { AWAITING_ADMISSION, DUE_LATER, ENDED, FAILED, HOLDING_SLOTS, NOT_STARTED, TASK_INSTANCE_STATES, UNFINISHED, WAITING } from './states.js';

const SQL_DIR = new URL('./sql/', import.meta.url);

/** Every `state IN (...)` list of a statement, in order (a run's, written `r.state`, aside). */
function stateLists(file: string): string[][] {
  const text = readFileSync(new URL(file, SQL_DIR), 'utf8').replace(/--.*$/gm, '');
  return [...text.matchAll(/(?<!r\.)state IN \(([^)]*)\)/g)].map((m) => m[1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, '')));
}

// Each statement that decides by a set of task instance states, and the sets it uses.
const USES: Record<string, ReadonlyArray<readonly string[]>> = {
  'claim_task_instances.sql': [DUE_LATER],
  'add_deferred_job.sql': [DUE_LATER],
  'enqueue_task_instances.sql': [DUE_LATER, [...WAITING, ...DUE_LATER]],
  'finish_dag_run.sql': [FAILED, UNFINISHED],
  'set_task_states.sql': [WAITING],
  'expand_task_instance.sql': [WAITING],
  'fail_task_instance.sql': [WAITING],
  'clear_task_instances.sql': [ENDED],
  'cancel_dag_run.sql': [NOT_STARTED],
  'mark_dag_run.sql': [UNFINISHED],
  'select_capacity_scope.sql': [AWAITING_ADMISSION, AWAITING_ADMISSION],
  'select_capacity_usage.sql': [HOLDING_SLOTS, HOLDING_SLOTS],
  'select_waiting_instances.sql': [AWAITING_ADMISSION, AWAITING_ADMISSION],
  'admit_task_instances.sql': [AWAITING_ADMISSION],
  'select_waiting_pools.sql': [AWAITING_ADMISSION],
};

describe('the task instance state machine', () => {
  it('is the one the database and the API know', () => {
    expect(Object.values(PrismaTaskInstanceState)).toEqual([...TASK_INSTANCE_STATES]);
  });

  it.each(Object.entries(USES))('%s spells out the sets of states.ts', (file, sets) => {
    expect(stateLists(file)).toEqual(sets.map((set) => [...set]));
  });

  it('has no other statement deciding by a list of states', () => {
    const others = readdirSync(SQL_DIR).filter((file) => file.endsWith('.sql') && !(file in USES) && stateLists(file).length > 0);
    expect(others).toEqual([]);
  });
});
