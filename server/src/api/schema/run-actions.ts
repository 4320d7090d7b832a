// What an operator does to runs and DAGs by hand: clear, mark, cancel, delete.
import { deleteDag } from '../../dags/delete.js';
import { badInput } from '../../errors.js';
import { cancelDagRun, clearTaskInstances, markDagRun, markTaskInstances, type TaskSelection } from '../../executor/interventions.js';
import { checkDagId, checkTaskId, parseDagRunId } from '../../runs.js';
import type { AuditSubject } from '../../audit.js';
import type { Db } from '../../db/prisma.js';
import { builder } from '../builder.js';

/** Most task ids or map indexes one action may name. */
const MAX_SELECTED = 10_000;

const MarkState = builder.enumType('MarkState', {
  description: 'The state a task instance or a run is marked with.',
  values: {
    success: { description: 'As if it succeeded.' },
    failed: { description: 'As if it failed.' },
  } as const,
});

const taskSelectionFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
  dagRunId: t.id({ required: true, description: 'The run whose task instances to act on.' }),
  taskIds: t.stringList({ required: true, description: 'The tasks to act on.' }),
  mapIndexes: t.intList({ description: 'Only these instances of the tasks (their mapIndex); default: all.' }),
  downstream: t.boolean({ defaultValue: false, description: 'Also every task downstream of them, transitively.' }),
  upstream: t.boolean({ defaultValue: false, description: 'Also every task upstream of them, transitively.' }),
});

const ClearTaskInstancesInput = builder.inputType('ClearTaskInstancesInput', {
  description: 'Which task instances of a run to clear.',
  fields: (t) => ({
    ...taskSelectionFields(t),
    onlyFailed: t.boolean({ defaultValue: false, description: 'Only instances that ended `failed` or `upstream_failed`.' }),
  }),
});

const MarkTaskInstancesInput = builder.inputType('MarkTaskInstancesInput', {
  description: 'Which task instances of a run to mark, and how.',
  fields: (t) => ({ ...taskSelectionFields(t), state: t.field({ type: MarkState, required: true, description: 'The state to give them.' }) }),
});

const RunRefInput = builder.inputType('DagRunRefInput', {
  description: 'A run, by id.',
  fields: (t) => ({ id: t.id({ required: true, description: 'The run’s id.' }) }),
});
const MarkDagRunInput = builder.inputType('MarkDagRunInput', {
  description: 'A run to mark, and how.',
  fields: (t) => ({ id: t.id({ required: true, description: 'The run’s id.' }), state: t.field({ type: MarkState, required: true, description: 'The state to give it.' }) }),
});
const DeleteDagInput = builder.inputType('DeleteDagInput', {
  description: 'The DAG to delete.',
  fields: (t) => ({ id: t.string({ required: true, description: 'The DAG id.' }) }),
});

const RunActionPayload = builder.objectRef<{ dagRunId: number; changed: number }>('RunActionPayload').implement({
  description: 'What an action on a run did.',
  fields: (t) => ({
    changed: t.exposeInt('changed', { description: 'How many task instances the action changed.' }),
    dagRun: t.prismaField({
      type: 'DagRun',
      description: 'The run as it is after the action.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.dagRun.findUniqueOrThrow({ ...query, where: { id: payload.dagRunId } }),
    }),
  }),
});

const DeleteDagPayload = builder.objectRef<{ deletedRuns: number }>('DeleteDagPayload').implement({
  description: 'What deleting a DAG removed.',
  fields: (t) => ({ deletedRuns: t.exposeInt('deletedRuns', { description: 'How many runs were deleted with the DAG.' }) }),
});

function selection(input: { dagRunId: string; taskIds: string[]; mapIndexes?: number[] | null; downstream?: boolean | null; upstream?: boolean | null }): TaskSelection {
  if (input.taskIds.length > MAX_SELECTED) throw badInput(`taskIds has ${input.taskIds.length} entries; at most ${MAX_SELECTED}`);
  if ((input.mapIndexes?.length ?? 0) > MAX_SELECTED) throw badInput(`mapIndexes has ${input.mapIndexes!.length} entries; at most ${MAX_SELECTED}`);
  input.taskIds.forEach(checkTaskId);
  return {
    dagRunId: parseDagRunId(input.dagRunId),
    taskIds: [...new Set(input.taskIds)],
    mapIndexes: input.mapIndexes ?? null,
    downstream: input.downstream ?? false,
    upstream: input.upstream ?? false,
  };
}

/** The audit subject of an action on a run: `dag_run:<id>`, with the run's DAG when the run exists. */
async function runSubject(prisma: Db, id: string, details: Record<string, unknown>): Promise<AuditSubject> {
  let dagId: string | null = null;
  try {
    dagId = (await prisma.dagRun.findUnique({ where: { id: parseDagRunId(id) }, select: { dagId: true } }))?.dagId ?? null;
  } catch {
    // a malformed id names no run
  }
  return { target: `dag_run:${id}`, dagId, details };
}

builder.mutationFields((t) => ({
  clearTaskInstances: t.field({
    type: RunActionPayload,
    description:
      'Clears ended task instances so that they run again (Airflow’s clear): tries are kept and the next one is numbered after them; a run that had ended runs again. Running and waiting instances are left alone.',
    args: { input: t.arg({ type: ClearTaskInstancesInput, required: true, description: 'The run, the tasks and how far to go.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dagRun: input.dagRunId }),
    audit: ({ input }, result, ctx) =>
      runSubject(ctx.prisma, input.dagRunId, { taskIds: input.taskIds, mapIndexes: input.mapIndexes ?? null, downstream: input.downstream, upstream: input.upstream, onlyFailed: input.onlyFailed, ...(result ? { changed: result.changed } : {}) }),
    resolve: async (_root, { input }, ctx) => {
      const chosen = selection(input);
      return { dagRunId: chosen.dagRunId, changed: await clearTaskInstances(ctx.pool, { ...chosen, onlyFailed: input.onlyFailed ?? false }) };
    },
  }),
  markTaskInstances: t.field({
    type: RunActionPayload,
    description: 'Marks task instances `success` or `failed` by hand; a running one’s try is stopped (`TaskMarked`) and waiting downstream instances follow their trigger rules.',
    args: { input: t.arg({ type: MarkTaskInstancesInput, required: true, description: 'The run, the tasks, how far to go and the state.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dagRun: input.dagRunId }),
    audit: ({ input }, result, ctx) =>
      runSubject(ctx.prisma, input.dagRunId, { taskIds: input.taskIds, mapIndexes: input.mapIndexes ?? null, downstream: input.downstream, upstream: input.upstream, state: input.state, ...(result ? { changed: result.changed } : {}) }),
    resolve: async (_root, { input }, ctx) => {
      const chosen = selection(input);
      return { dagRunId: chosen.dagRunId, changed: await markTaskInstances(ctx.pool, { ...chosen, state: input.state }) };
    },
  }),
  markDagRun: t.field({
    type: RunActionPayload,
    description: 'Marks a run `success` (every task instance `success`) or `failed` (running instances fail, the rest that had not started are skipped).',
    args: { input: t.arg({ type: MarkDagRunInput, required: true, description: 'The run and the state.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dagRun: input.id }),
    audit: ({ input }, _result, ctx) => runSubject(ctx.prisma, input.id, { state: input.state }),
    resolve: async (_root, { input }, ctx) => {
      const id = parseDagRunId(input.id);
      await markDagRun(ctx.pool, id, input.state);
      return { dagRunId: id, changed: 0 };
    },
  }),
  cancelDagRun: t.field({
    type: RunActionPayload,
    description:
      'Cancels a running run: it fails now, its task instances that have not started never do (skipped), and its running tries get their abort signal and end `failed` (`RunCancelled`).',
    args: { input: t.arg({ type: RunRefInput, required: true, description: 'The run.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dagRun: input.id }),
    audit: ({ input }, _result, ctx) => runSubject(ctx.prisma, input.id, {}),
    resolve: async (_root, { input }, ctx) => {
      const id = parseDagRunId(input.id);
      await cancelDagRun(ctx.pool, id);
      return { dagRunId: id, changed: 0 };
    },
  }),
  deleteDag: t.field({
    type: DeleteDagPayload,
    description: 'Deletes a DAG with its versions and its whole history (runs, task instances, tries, logs, values). Deploying its file again brings the DAG back, without its history.',
    args: { input: t.arg({ type: DeleteDagInput, required: true, description: 'The DAG.' }) },
    authScopes: (_root, { input }) => ({ role: 'admin', dag: input.id }),
    audit: ({ input }, result) => ({ target: `dag:${input.id}`, dagId: input.id, details: result ? { deletedRuns: result.deletedRuns } : null }),
    resolve: async (_root, { input }, ctx) => {
      checkDagId(input.id);
      return { deletedRuns: await deleteDag(ctx.prisma, input.id) };
    },
  }),
}));
