import { dagWhere } from '../../auth.js';
import { badInput, notFound } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { checkDagId, checkTaskId, parseDagRunId, triggerDagRun } from '../../runs.js';
import { batch, responsePath } from '../batch.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { nestedPage, type NestedPageSpec } from '../nested-pages.js';
import { pageTypes } from './connections.js';
import { runFilter, runFilterArgs } from './run-filter.js';
import { DagRunState, DagRunType, TaskInstanceState } from './states.js';
import { durationMs } from './task-instance.js';

/** A run's task instances: a task's instances together, mapped ones in `mapIndex` order (the unique key's index range). */
const TASK_INSTANCES: NestedPageSpec = {
  table: 'task_instance',
  parentColumn: 'dag_run_id',
  parentType: 'integer',
  order: [
    { field: 'taskId', column: 'task_id', type: 'text' },
    { field: 'mapIndex', column: 'map_index', type: 'integer' },
  ],
  descending: false,
};

const MAX_LISTED_STATES = 20;

// Select mode: a query loads the columns its selection needs (plus the key), so that
// `dagRun(id) { id }` does not read a run's conf, which may be 1 MiB.
const DagRun = builder.prismaObject('DagRun', {
  description: 'One execution of a DAG, pinned to the DAG version it was created with.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The run’s id (what `dagRun(id)` and the run actions take).' }),
    dagId: t.exposeString('dagId', { description: 'The DAG it runs.' }),
    runId: t.exposeString('runId', { description: 'Airflow-style run id, unique per DAG: `<runType>__<logical date>`, e.g. `scheduled__2026-01-01T00:00:00.000000Z`.' }),
    runType: t.expose('runType', { type: DagRunType, description: 'What created it.' }),
    state: t.expose('state', { type: DagRunState, description: 'Where it stands.' }),
    logicalDate: t.expose('logicalDate', {
      type: 'DateTime',
      description: 'The start of its data interval (a scheduled or backfill run); for a manual run, the date it was given or when it was triggered.',
    }),
    dataIntervalStart: t.expose('dataIntervalStart', { type: 'DateTime', nullable: true, description: 'Start of the data interval it processes (`context().dataIntervalStart`); null only for runs created before data intervals existed.' }),
    dataIntervalEnd: t.expose('dataIntervalEnd', {
      type: 'DateTime',
      nullable: true,
      description: 'End of the data interval it processes (`context().dataIntervalEnd`). A manual run’s is the latest interval of the schedule that had ended at its logical date (start = end without a schedule).',
    }),
    backfillId: t.exposeID('backfillId', { nullable: true, description: 'The backfill that created or reprocessed it, if any (`backfill(id)`).' }),
    conf: t.expose('conf', { type: 'JSON', complexity: JSON_FIELD_COST, description: 'The JSON object it was triggered with (`context().conf`).' }),
    params: t.expose('params', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: 'conf checked against the DAG’s params schema, defaults filled in; null without a schema.' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', description: 'When it was created.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it started (its first task instances were enqueued).' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while it runs.' }),
    durationMs: t.float({
      nullable: true,
      description: 'endedAt − startedAt in milliseconds; null until it ended.',
      select: { startedAt: true, endedAt: true },
      resolve: (run) => durationMs(run.startedAt, run.endedAt),
    }),
    dag: t.relation('dag', { description: 'The DAG it runs.' }),
    dagVersion: t.relation('dagVersion', { description: 'The DAG version it runs (its tasks and code).' }),
    taskInstances: t.prismaConnection(
      {
        type: 'TaskInstance',
        cursor: 'dagRunId_taskId_mapIndex',
        description:
          'Its task instances by task id, a mapped task’s in `mapIndex` order (one per item, 0…n−1, once its list is known; −1 until then and for unmapped tasks).',
        args: {
          taskId: t.arg.string({ description: 'Only the instances of this task.' }),
          states: t.arg({ type: [TaskInstanceState], description: 'Only instances in one of these states.' }),
          mapIndex: t.arg.int({ description: 'Only the instance with this map index (−1 for an unmapped task).' }),
        },
        ...pageLimits,
        resolve: (query, run, args, ctx, info) => {
          const filters: Prisma.Sql[] = [];
          if (args.taskId != null) {
            checkTaskId(args.taskId);
            filters.push(Prisma.sql`t.task_id = ${args.taskId}`);
          }
          if (args.states != null) {
            if (args.states.length === 0 || args.states.length > MAX_LISTED_STATES) throw badInput(`states must list 1 to ${MAX_LISTED_STATES} states; leave it out for all`);
            filters.push(Prisma.sql`t.state = ANY(CAST(${args.states} AS text[])::"TaskInstanceState"[])`);
          }
          if (args.mapIndex != null) {
            if (args.mapIndex < -1) throw badInput(`mapIndex is ${args.mapIndex}; map indexes are −1 (not mapped) or 0 and up`);
            filters.push(Prisma.sql`t.map_index = ${args.mapIndex}`);
          }
          return nestedPage(ctx, info, TASK_INSTANCES, run.id, query, filters, (selection, ids) =>
            ctx.prisma.taskInstance.findMany({ ...selection, where: { id: { in: ids as bigint[] } } }),
          );
        },
      },
      ...pageTypes('TaskInstance', 'task instances'),
    ),
    taskInstance: t.prismaField({
      type: 'TaskInstance',
      nullable: true,
      description: 'One of its task instances, by task id and map index; null if the run has none such.',
      args: {
        taskId: t.arg.string({ required: true, description: 'The task id.' }),
        mapIndex: t.arg.int({ defaultValue: -1, description: 'The instance’s map index; −1 (the default) for an unmapped task.' }),
      },
      resolve: (query, run, args, ctx, info) => {
        checkTaskId(args.taskId);
        const key = { dagRunId: run.id, taskId: args.taskId, mapIndex: args.mapIndex ?? -1 };
        // Every run of a list asks in one statement.
        return batch(ctx, `taskInstance:${responsePath(info)}`, key, async (keys) => {
          const rows = await ctx.prisma.taskInstance.findMany({ select: { ...query.select, id: true, dagRunId: true, taskId: true, mapIndex: true }, where: { OR: keys } });
          return keys.map((k) => rows.find((row) => row.dagRunId === k.dagRunId && row.taskId === k.taskId && row.mapIndex === k.mapIndex) ?? null);
        });
      },
    }),
  }),
});

/** One connection type for every list of runs (`dagRuns`, `Dag.runs`), so clients share fragments. */
export const DagRunConnection = builder.connectionObject(
  { type: DagRun, name: 'DagRunConnection', description: 'A page of DAG runs.' },
  { name: 'DagRunEdge', description: 'One of the DAG runs of a page, with its cursor.' },
);

builder.queryFields((t) => ({
  dagRun: t.prismaField({
    type: 'DagRun',
    description: 'One run by id (NOT_FOUND if there is none; FORBIDDEN when its DAG is outside the caller’s grants).',
    args: { id: t.arg.id({ required: true, description: 'The run’s id.' }) },
    authScopes: (_root, args) => ({ role: 'viewer', dagRun: String(args.id) }),
    resolve: async (query, _root, args, ctx) => {
      // Malformed or out-of-range ids are the caller's mistake (BAD_USER_INPUT), not a missing run.
      const run = await ctx.prisma.dagRun.findUnique({ ...query, where: { id: parseDagRunId(args.id) } });
      if (!run) throw notFound(`DagRun ${args.id} does not exist`);
      return run;
    },
  }),
  dagRuns: t.prismaConnection(
    {
      type: 'DagRun',
      cursor: 'id',
      description: 'Runs, newest first; only those of DAGs the caller may see.',
      args: { dagId: t.arg.string({ description: 'Only the runs of this DAG.' }), ...runFilterArgs(t.arg) },
      authScopes: (_root, args) => (args.dagId == null ? { role: 'viewer' } : { role: 'viewer', dag: args.dagId }),
      ...pageLimits,
      resolve: (query, _root, args, ctx) => {
        if (args.dagId != null) checkDagId(args.dagId);
        const filter = runFilter(args);
        const granted = dagWhere(ctx.caller);
        const where = { ...filter.where, ...(args.dagId != null ? { dagId: args.dagId } : {}), ...(granted ? { dag: granted } : {}) };
        return ctx.prisma.dagRun.findMany({ ...query, where, orderBy: { id: 'desc' } });
      },
    },
    DagRunConnection,
  ),
}));

const TriggerDagRunInput = builder.inputType('TriggerDagRunInput', {
  description: 'Which DAG to run, and with what.',
  fields: (t) => ({
    dagId: t.string({ required: true, description: 'The DAG id.' }),
    conf: t.field({ type: 'JSON', description: 'A JSON object handed to the tasks as `context().conf` (checked against the DAG’s params schema); default `{}`.' }),
    logicalDate: t.field({
      type: 'DateTime',
      description: 'The run’s logical date (default: now); its data interval is the latest of the schedule that had ended by then. Refused when the DAG already has a run at that date.',
    }),
  }),
});

const TriggerDagRunPayload = builder.objectRef<{ dagRunId: number }>('TriggerDagRunPayload').implement({
  description: 'The run a trigger created.',
  fields: (t) => ({
    dagRun: t.prismaField({
      type: 'DagRun',
      description: 'The new run.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.dagRun.findUniqueOrThrow({ ...query, where: { id: payload.dagRunId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  triggerDagRun: t.field({
    type: TriggerDagRunPayload,
    description: 'Starts a manual run of the DAG’s newest version.',
    args: { input: t.arg({ type: TriggerDagRunInput, required: true, description: 'The DAG and the run’s conf.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dag: input.dagId }),
    audit: ({ input }, result) => ({ target: `dag:${input.dagId}`, dagId: input.dagId, details: result ? { dagRunId: result.dagRunId } : null }),
    resolve: async (_root, { input }, ctx) => ({
      dagRunId: await triggerDagRun(ctx.pool, { dagId: input.dagId, conf: input.conf ?? {}, logicalDate: (input.logicalDate as Date | null | undefined) ?? null }),
    }),
  }),
}));
