import { dagWhere } from '../../auth.js';
import type { DagStructure, TaskStructure } from '../../dags/structure.js';
import { notFound } from '../../errors.js';
import { checkDagId } from '../../runs.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';

const Task = builder.objectRef<TaskStructure>('Task').implement({
  description: 'A task of a DAG version, with its dependencies.',
  fields: (t) => ({
    id: t.exposeID('id'),
    upstreamIds: t.exposeStringList('upstreamIds'),
    downstreamIds: t.exposeStringList('downstreamIds'),
    triggerRule: t.exposeString('triggerRule'),
    groupId: t.string({ nullable: true, description: 'Full id of the task group it belongs to (`outer.inner`), if any.', resolve: (task) => task.groupId ?? null }),
    retries: t.exposeInt('retries'),
    timeoutMs: t.exposeInt('timeoutMs', { nullable: true }),
  }),
});

builder.prismaObject('DagVersion', {
  select: { id: true },
  fields: (t) => ({
    versionNumber: t.exposeInt('versionNumber'),
    bundleHash: t.exposeString('bundleHash'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    tasks: t.field({
      type: [Task],
      select: { structure: true },
      complexity: { field: JSON_FIELD_COST, multiplier: 10 },
      resolve: (v) => (v.structure as unknown as DagStructure).tasks,
    }),
  }),
});

builder.prismaObject('Dag', {
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    description: t.exposeString('description', { nullable: true }),
    source: t.exposeString('source', { description: 'The deploy source (DAG folder) the DAG comes from.' }),
    fileName: t.exposeString('fileName'),
    schedule: t.exposeString('schedule', { nullable: true }),
    tags: t.exposeStringList('tags', { description: 'Tags of the newest version; API tokens may be granted DAGs by tag.' }),
    paused: t.exposeBoolean('paused'),
    isActive: t.exposeBoolean('isActive'),
    versions: t.relation('versions', { description: 'Newest first.', query: { orderBy: { versionNumber: 'desc' } } }),
    tasks: t.field({
      type: [Task],
      description: 'Tasks of the newest version.',
      select: { versions: { orderBy: { versionNumber: 'desc' }, take: 1, select: { structure: true } } },
      complexity: { field: JSON_FIELD_COST, multiplier: 10 },
      resolve: (dag) => (dag.versions[0]?.structure as unknown as DagStructure | undefined)?.tasks ?? [],
    }),
    paramsSchema: t.field({
      type: 'JSON',
      nullable: true,
      description: 'JSON Schema of the params of the newest version (what a trigger conf must match), or null.',
      select: { versions: { orderBy: { versionNumber: 'desc' }, take: 1, select: { structure: true } } },
      complexity: JSON_FIELD_COST,
      resolve: (dag) => (dag.versions[0]?.structure as unknown as Partial<DagStructure> | undefined)?.paramsSchema ?? null,
    }),
    runs: t.relatedConnection('runs', { cursor: 'id', query: { orderBy: { id: 'desc' } }, ...pageLimits }),
  }),
});

builder.prismaObject('ImportError', {
  select: { id: true },
  fields: (t) => ({
    source: t.exposeString('source'),
    fileName: t.exposeString('fileName'),
    message: t.exposeString('message'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  dags: t.prismaConnection({
    type: 'Dag',
    cursor: 'id',
    description: 'The DAGs the caller may see (a token limited to some DAGs sees only those).',
    args: { includeInactive: t.arg.boolean({ defaultValue: false, description: 'Also list DAGs whose file is gone.' }) },
    authScopes: { role: 'viewer' },
    ...pageLimits,
    resolve: (query, _root, args, ctx) => {
      const where = { ...(args.includeInactive ? {} : { isActive: true }), ...dagWhere(ctx.caller) };
      return ctx.prisma.dag.findMany({ ...query, where, orderBy: { id: 'asc' } });
    },
  }),
  dag: t.prismaField({
    type: 'Dag',
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ role: 'viewer', dag: String(args.id) }),
    resolve: async (query, _root, args, ctx) => {
      checkDagId(String(args.id));
      const dag = await ctx.prisma.dag.findUnique({ ...query, where: { id: String(args.id) } });
      if (!dag) throw notFound(`DAG "${args.id}" does not exist`);
      return dag;
    },
  }),
  importErrors: t.prismaField({
    type: ['ImportError'],
    description: 'DAG files that failed at the latest deploy. A token limited to some DAGs sees only the files of those DAGs.',
    authScopes: { role: 'viewer' },
    resolve: async (query, _root, _args, ctx) => {
      const granted = dagWhere(ctx.caller);
      let where = {};
      if (granted) {
        const files = await ctx.prisma.dag.findMany({ where: granted, select: { source: true, fileName: true }, distinct: ['source', 'fileName'] });
        if (files.length === 0) return [];
        where = { OR: files };
      }
      return ctx.prisma.importError.findMany({ ...query, where, orderBy: [{ source: 'asc' }, { fileName: 'asc' }] });
    },
  }),
}));

const SetDagPausedInput = builder.inputType('SetDagPausedInput', {
  fields: (t) => ({
    dagId: t.string({ required: true }),
    paused: t.boolean({ required: true }),
  }),
});

builder.mutationFields((t) => ({
  setDagPaused: t.prismaField({
    type: 'Dag',
    description: 'Pauses or unpauses a DAG: a paused DAG gets no scheduled runs and cannot be triggered.',
    args: { input: t.arg({ type: SetDagPausedInput, required: true }) },
    authScopes: (_root, { input }) => ({ role: 'user', dag: input.dagId }),
    audit: ({ input }) => ({ target: `dag:${input.dagId}`, dagId: input.dagId, details: { paused: input.paused } }),
    resolve: async (query, _root, { input }, ctx) => {
      checkDagId(input.dagId);
      const { count } = await ctx.prisma.dag.updateMany({ where: { id: input.dagId }, data: { paused: input.paused } });
      if (count === 0) throw notFound(`DAG "${input.dagId}" does not exist`);
      return ctx.prisma.dag.findUniqueOrThrow({ ...query, where: { id: input.dagId } });
    },
  }),
}));
