import { dagWhere } from '../../auth.js';
import { TASK_INSTANCE_STATES } from '../../executor/states.js';
import { notFound } from '../../errors.js';
import { checkDagId, checkTaskId, parseDagRunId, triggerDagRun } from '../../runs.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';

const DagRunState = builder.enumType('DagRunState', { values: ['queued', 'running', 'success', 'failed'] as const });
const DagRunType = builder.enumType('DagRunType', { values: ['manual', 'scheduled', 'backfill', 'asset_triggered'] as const });
const TaskInstanceState = builder.enumType('TaskInstanceState', {
  values: TASK_INSTANCE_STATES,
});

// Select mode: a query loads the columns its selection needs (plus the key), so that
// `dagRun(id) { id }` does not read a run's conf, which may be 1 MiB.
builder.prismaObject('DagRun', {
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    dagId: t.exposeString('dagId'),
    runId: t.exposeString('runId'),
    runType: t.expose('runType', { type: DagRunType }),
    state: t.expose('state', { type: DagRunState }),
    logicalDate: t.expose('logicalDate', { type: 'DateTime' }),
    conf: t.expose('conf', { type: 'JSON', complexity: JSON_FIELD_COST }),
    params: t.expose('params', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: 'conf checked against the DAG’s params schema, defaults filled in; null without a schema.' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    dag: t.relation('dag'),
    dagVersion: t.relation('dagVersion'),
    taskInstances: t.relatedConnection('taskInstances', {
      description: 'The run’s task instances; a mapped task has one per item (`mapIndex` 0…n−1) once its list is known.',
      cursor: 'id',
      args: { taskId: t.arg.string({ description: 'Only the instances of this task.' }) },
      query: (args) => {
        if (args.taskId != null) checkTaskId(args.taskId);
        return { where: args.taskId == null ? {} : { taskId: args.taskId }, orderBy: { id: 'asc' } };
      },
      ...pageLimits,
    }),
  }),
});

builder.prismaObject('TaskInstance', {
  select: { id: true },
  fields: (t) => ({
    id: t.id({ resolve: (ti) => String(ti.id) }),
    taskId: t.exposeString('taskId'),
    mapIndex: t.exposeInt('mapIndex', { description: '-1 unless it is one of a mapped task’s instances (0…n−1).' }),
    mapItem: t.expose('mapItem', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: 'The item a mapped instance maps over (its first argument); null otherwise.' }),
    state: t.expose('state', { type: TaskInstanceState }),
    tryNumber: t.exposeInt('tryNumber', { description: 'Number of the latest try; 0 before the first.' }),
    maxTries: t.exposeInt('maxTries'),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    nextTryAt: t.expose('nextTryAt', { type: 'DateTime', nullable: true }),
    returnValue: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the task returned (its `return_value` XCom), as JSON.',
      select: { xcoms: { where: { key: 'return_value' }, select: { value: true } } },
      complexity: JSON_FIELD_COST,
      resolve: (ti) => ti.xcoms[0]?.value ?? null,
    }),
    tries: t.relation('tries', { query: { orderBy: { tryNumber: 'asc' } } }),
  }),
});

builder.prismaObject('TaskTry', {
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The try’s id (what `taskLogLines(tryId)` takes).', resolve: (tt) => String(tt.id) }),
    tryNumber: t.exposeInt('tryNumber'),
    state: t.expose('state', { type: TaskInstanceState }),
    workerId: t.exposeString('workerId', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    error: t.expose('error', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST }),
    logs: t.relation('logs', { query: { orderBy: { seq: 'asc' } } }),
  }),
});

builder.prismaObject('TaskLog', {
  select: { id: true },
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    level: t.exposeString('level'),
    message: t.exposeString('message'),
    fields: t.expose('fields', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST }),
    loggedAt: t.expose('loggedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  dagRun: t.prismaField({
    type: 'DagRun',
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ role: 'viewer', dagRun: String(args.id) }),
    resolve: async (query, _root, args, ctx) => {
      // Malformed or out-of-range ids are the caller's mistake (BAD_USER_INPUT), not a missing run.
      const run = await ctx.prisma.dagRun.findUnique({ ...query, where: { id: parseDagRunId(args.id) } });
      if (!run) throw notFound(`DagRun ${args.id} does not exist`);
      return run;
    },
  }),
  dagRuns: t.prismaConnection({
    type: 'DagRun',
    cursor: 'id',
    description: 'Newest first; only the runs of DAGs the caller may see.',
    args: { dagId: t.arg.string({ description: 'Only the runs of this DAG.' }) },
    authScopes: (_root, args) => (args.dagId == null ? { role: 'viewer' } : { role: 'viewer', dag: args.dagId }),
    ...pageLimits,
    resolve: (query, _root, args, ctx) => {
      if (args.dagId != null) checkDagId(args.dagId);
      const granted = dagWhere(ctx.caller);
      const where = { ...(args.dagId ? { dagId: args.dagId } : {}), ...(granted ? { dag: granted } : {}) };
      return ctx.prisma.dagRun.findMany({ ...query, where, orderBy: { id: 'desc' } });
    },
  }),
}));

const TriggerDagRunInput = builder.inputType('TriggerDagRunInput', {
  fields: (t) => ({
    dagId: t.string({ required: true }),
    conf: t.field({ type: 'JSON', description: 'A JSON object handed to the tasks as `context().conf`.' }),
  }),
});

const TriggerDagRunPayload = builder.objectRef<{ dagRunId: number }>('TriggerDagRunPayload').implement({
  fields: (t) => ({
    dagRun: t.prismaField({
      type: 'DagRun',
      resolve: (query, payload, _args, ctx) => ctx.prisma.dagRun.findUniqueOrThrow({ ...query, where: { id: payload.dagRunId } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  triggerDagRun: t.field({
    type: TriggerDagRunPayload,
    description: 'Starts a manual run of the DAG’s newest version.',
    args: { input: t.arg({ type: TriggerDagRunInput, required: true }) },
    authScopes: (_root, { input }) => ({ role: 'user', dag: input.dagId }),
    audit: ({ input }, result) => ({ target: `dag:${input.dagId}`, dagId: input.dagId, details: result ? { dagRunId: result.dagRunId } : null }),
    resolve: async (_root, { input }, ctx) => ({ dagRunId: await triggerDagRun(ctx.pool, { dagId: input.dagId, conf: input.conf ?? {} }) }),
  }),
}));
