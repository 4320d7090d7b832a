// Assets in the API: the assets deployed DAGs name, their events (emitted by tasks or posted),
// the DAGs scheduled on them and the runs the events caused. Reading needs the viewer role;
// posting an event the op role (as Airflow's simple auth manager has it: assets are managed
// by ops), and a token not limited to some DAGs, since an event starts runs of every DAG
// scheduled on the asset, whichever DAGs a token's grants name. Assets are not DAGs, so the
// root fields also need such a token: their events and consumers name DAGs of every grant.
import { describeCondition } from '../../assets/condition.js';
import { checkAssetUri, postAssetEvent } from '../../assets/events.js';
import { dagWhere } from '../../auth.js';
import { notFound } from '../../errors.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { pageTypes } from './connections.js';
import { latestStructure } from './dag.js';

const AssetEvent = builder.prismaObject('AssetEvent', {
  description: 'One update of an asset: a successful try of a task that lists it in its outlets, or a post (`createAssetEvent`, `POST /api/assets/events`).',
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The event’s id.', resolve: (event) => String(event.id) }),
    asset: t.relation('asset', { description: 'The asset it updated.' }),
    extra: t.expose('extra', { type: 'JSON', complexity: JSON_FIELD_COST, description: 'What its emitter said about the update (a JSON object; `{}` for a task’s).' }),
    sourceDagId: t.exposeString('sourceDagId', { nullable: true, description: 'The DAG of the task that emitted it; null for a posted event.' }),
    sourceTaskId: t.exposeString('sourceTaskId', { nullable: true, description: 'The task that emitted it; null for a posted event.' }),
    sourceMapIndex: t.exposeInt('sourceMapIndex', { nullable: true, description: 'The map index of the task instance that emitted it (−1 unmapped); null for a posted event.' }),
    sourceDagRun: t.relation('sourceDagRun', { nullable: true, description: 'The run whose task emitted it; null for a posted event, or once that run was deleted.' }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Who posted it (`local`, `token:<prefix>`); null for a task’s event.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was recorded.' }),
    triggeredRuns: t.prismaField({
      type: ['DagRun'],
      description: 'The asset-triggered runs that consumed it (at most one per DAG scheduled on its asset); only those of DAGs the caller may see.',
      resolve: (query, event, _args, ctx) => {
        const granted = dagWhere(ctx.caller);
        return ctx.prisma.dagRun.findMany({ ...query, where: { consumedAssetEvents: { some: { assetEventId: event.id } }, ...(granted ? { dag: granted } : {}) }, orderBy: { id: 'asc' } });
      },
    }),
  }),
});

/** One connection type for every list of asset events, so clients share fragments. */
const AssetEventConnection = builder.connectionObject(
  { type: AssetEvent, name: 'AssetEventConnection', description: 'A page of asset events.' },
  { name: 'AssetEventEdge', description: 'One of the asset events of a page, with its cursor.' },
);

builder.prismaObject('Asset', {
  description: 'Data that tasks update (Airflow’s Asset), named by its URI: a task lists it in `outlets`, a DAG may be scheduled on it.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The asset’s id.' }),
    uri: t.exposeString('uri', { description: 'Its URI, as the DAGs name it (`s3://bucket/sales`).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When a deploy first named it.' }),
    consumingDags: t.prismaField({
      type: ['Dag'],
      description: 'The DAGs whose schedule names it (as last deployed), by id; only those the caller may see.',
      resolve: (query, asset, _args, ctx) => {
        const granted = dagWhere(ctx.caller);
        return ctx.prisma.dag.findMany({ ...query, where: { scheduleAssets: { some: { assetId: asset.id } }, ...(granted ? { AND: [granted] } : {}) }, orderBy: { id: 'asc' } });
      },
    }),
    events: t.relatedConnection(
      'events',
      { cursor: 'id', description: 'Its events, newest first.', ...pageLimits, query: () => ({ orderBy: { id: 'desc' as const } }) },
      AssetEventConnection,
    ),
  }),
});

builder.prismaObjectField('DagRun', 'consumedAssetEvents', (t) =>
  t.prismaConnection(
    {
      type: 'AssetEvent',
      cursor: 'id',
      description: 'The asset events that caused it, oldest first: empty unless its runType is `asset_triggered`. Needs a token not limited to some DAGs (events name the DAGs that emitted them).',
      authScopes: { everyDag: true },
      ...pageLimits,
      resolve: (query, run, _args, ctx) => ctx.prisma.assetEvent.findMany({ ...query, where: { consumedBy: { some: { dagRunId: run.id } } }, orderBy: { id: 'asc' } }),
    },
    AssetEventConnection,
  ),
);

builder.prismaObjectField('Dag', 'assetSchedule', (t) =>
  t.string({
    nullable: true,
    description: 'What an asset-scheduled DAG waits for, as written with `|` (anyOf) and `&` (all of, a list): `(s3://a & s3://b)`; null when it is not scheduled on assets.',
    resolve: async (dag, _args, ctx) => {
      const structure = await latestStructure(ctx, dag.id);
      return structure?.assetSchedule ? describeCondition(structure.assetSchedule) : null;
    },
  }),
);

builder.queryFields((t) => ({
  assets: t.prismaConnection(
    {
      type: 'Asset',
      cursor: 'id',
      description: 'The assets deployed DAGs name (or named), by id. Needs a token not limited to some DAGs.',
      args: { uriPrefix: t.arg.string({ description: 'Only assets whose URI starts with this (`s3://bucket/`).' }) },
      authScopes: { role: 'viewer', everyDag: true },
      ...pageLimits,
      resolve: (query, _root, args, ctx) => {
        if (args.uriPrefix != null) checkAssetUri(args.uriPrefix);
        return ctx.prisma.asset.findMany({ ...query, where: args.uriPrefix != null ? { uri: { startsWith: args.uriPrefix } } : {}, orderBy: { id: 'asc' } });
      },
    },
    ...pageTypes('Asset', 'assets'),
  ),
  asset: t.prismaField({
    type: 'Asset',
    description: 'One asset by URI (NOT_FOUND if no deployed DAG has named it). Needs a token not limited to some DAGs.',
    args: { uri: t.arg.string({ required: true, description: 'The asset’s URI.' }) },
    authScopes: { role: 'viewer', everyDag: true },
    resolve: async (query, _root, args, ctx) => {
      checkAssetUri(args.uri);
      const asset = await ctx.prisma.asset.findUnique({ ...query, where: { uri: args.uri } });
      if (!asset) throw notFound(`Asset ${JSON.stringify(args.uri)} does not exist`);
      return asset;
    },
  }),
  assetEvents: t.prismaConnection(
    {
      type: 'AssetEvent',
      cursor: 'id',
      description: 'Asset events of every asset, newest first. Needs a token not limited to some DAGs.',
      authScopes: { role: 'viewer', everyDag: true },
      ...pageLimits,
      resolve: (query, _root, _args, ctx) => ctx.prisma.assetEvent.findMany({ ...query, orderBy: { id: 'desc' } }),
    },
    AssetEventConnection,
  ),
}));

const CreateAssetEventInput = builder.inputType('CreateAssetEventInput', {
  description: 'An update of an asset to record.',
  fields: (t) => ({
    uri: t.string({ required: true, description: 'The asset’s URI; the asset must exist (a deployed DAG names it).' }),
    extra: t.field({ type: 'JSON', description: 'A JSON object about the update (at most 1 MiB, 64 levels); default `{}`.' }),
  }),
});

const CreateAssetEventPayload = builder.objectRef<{ id: string }>('CreateAssetEventPayload').implement({
  description: 'The event recorded.',
  fields: (t) => ({
    assetEvent: t.prismaField({
      type: 'AssetEvent',
      description: 'The new event.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.assetEvent.findUniqueOrThrow({ ...query, where: { id: BigInt(payload.id) } }),
    }),
  }),
});

builder.mutationFields((t) => ({
  createAssetEvent: t.field({
    type: CreateAssetEventPayload,
    description:
      'Records an update of an asset by hand (op; a token not limited to some DAGs): the DAGs scheduled on it run when their condition holds, as after a task’s update.',
    args: { input: t.arg({ type: CreateAssetEventInput, required: true, description: 'The asset and what to say about the update.' }) },
    authScopes: { role: 'op', everyDag: true },
    audit: ({ input }, result) => ({ target: `asset:${input.uri}`, details: result ? { assetEventId: result.id } : null }),
    resolve: async (_root, { input }, ctx) => ({ id: (await postAssetEvent(ctx.pool, { uri: input.uri, extra: input.extra ?? {} }, ctx.caller.actor)).id }),
  }),
}));
