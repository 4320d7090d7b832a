import type { GraphQLResolveInfo } from 'graphql';
import { dagWhere } from '../../auth.js';
import { badInput, notFound } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import { checkDagId } from '../../runs.js';
import { nextInterval, timetableOf, type DataInterval } from '../../dags/timetable.js';
import { batch, responsePath } from '../batch.js';
import { builder, type ApiContext } from '../builder.js';
import { pageLimits } from '../limits.js';
import { nestedPage, type NestedPageSpec } from '../nested-pages.js';
import { STRUCTURE_FIELD_OPTIONS, structureOf, structureView, Task, TaskEdge, TaskGroup } from './dag-version.js';
import { pageTypes } from './connections.js';
import { DagRunConnection } from './dag-run.js';
import { runFilter, runFilterArgs } from './run-filter.js';

/** The newest version's id of each DAG (null without one), in one statement. */
function latestVersionId(ctx: ApiContext, dagId: string): Promise<number | null> {
  return batch(ctx, 'latestVersionIds', dagId, async (dagIds) => {
    const rows = await ctx.prisma.$queryRaw<Array<{ dag_id: string; id: number }>>`
      SELECT d.dag_id, v.id
      FROM unnest(CAST(${dagIds} AS text[])) AS d(dag_id)
      CROSS JOIN LATERAL (SELECT id FROM dag_version WHERE dag_id = d.dag_id ORDER BY version_number DESC LIMIT 1) v`;
    const ids = new Map(rows.map((row) => [row.dag_id, row.id]));
    return dagIds.map((id) => ids.get(id) ?? null);
  });
}

export async function latestStructure(ctx: ApiContext, dagId: string) {
  const versionId = await latestVersionId(ctx, dagId);
  return versionId === null ? null : structureOf(ctx, versionId);
}

const RUNS: NestedPageSpec = {
  table: 'dag_run',
  parentColumn: 'dag_id',
  parentType: 'text',
  order: [{ field: 'id', column: 'id', type: 'integer' }],
  descending: true,
};

const VERSIONS: NestedPageSpec = {
  table: 'dag_version',
  parentColumn: 'dag_id',
  parentType: 'text',
  order: [{ field: 'versionNumber', column: 'version_number', type: 'integer' }],
  descending: true,
};

/** Loads rows of `delegate` by id with the field's selection, for every parent of the field at once. */
function rowsById<Row extends { id: unknown }>(ctx: ApiContext, info: GraphQLResolveInfo, id: Row['id'], load: (ids: Array<Row['id']>) => Promise<Row[]>): Promise<Row | null> {
  return batch(ctx, `rows:${responsePath(info)}`, id, async (ids) => {
    const rows = new Map((await load(ids)).map((row) => [String(row.id), row]));
    return ids.map((key) => rows.get(String(key)) ?? null);
  });
}

/** A run's span of data: from its logical date to when it may run. */
const DataIntervalRef = builder.objectRef<DataInterval>('DataInterval').implement({
  description: 'A data interval: the span of time a run processes. Its start is the run’s logical date; a scheduled run is created once its end has passed.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: 'Where it starts (included): the logical date.' }),
    end: t.expose('end', { type: 'DateTime', description: 'Where it ends (excluded).' }),
  }),
});

const NEXT_SELECT = {
  paused: true,
  isActive: true,
  schedule: true,
  timezone: true,
  startDate: true,
  endDate: true,
  catchup: true,
  createdAt: true,
  nextRunPlanned: true,
  nextDataIntervalStart: true,
  nextDataIntervalEnd: true,
} as const;

/**
 * The next scheduled run's interval as the scheduler's cursor holds it; before a scheduler
 * planned the DAG (just deployed or changed), as it will plan it for a DAG without scheduled runs.
 */
function nextOf(dag: {
  paused: boolean;
  isActive: boolean;
  schedule: string | null;
  timezone: string;
  startDate: Date | null;
  endDate: Date | null;
  catchup: boolean;
  createdAt: Date;
  nextRunPlanned: boolean;
  nextDataIntervalStart: Date | null;
  nextDataIntervalEnd: Date | null;
}): DataInterval | null {
  if (dag.paused || !dag.isActive || dag.schedule === null) return null;
  if (dag.nextRunPlanned) return dag.nextDataIntervalStart && dag.nextDataIntervalEnd ? { start: dag.nextDataIntervalStart, end: dag.nextDataIntervalEnd } : null;
  const timetable = timetableOf(dag.schedule, dag.timezone, dag.startDate);
  if (!timetable) return null;
  const startDate = dag.startDate ?? (dag.catchup || timetable.kind === 'once' ? dag.createdAt : null);
  return nextInterval(timetable, null, { startDate, endDate: dag.endDate, catchup: dag.catchup }, new Date());
}

const MAX_SEARCH_LENGTH = 200;
const MAX_LISTED_TAGS = 1000;

/** `dags(search:)`: the text in the id or the description, or a tag equal to it, ignoring case. */
function searchWhere(search: string): Prisma.DagWhereInput {
  if (search.length > MAX_SEARCH_LENGTH) throw badInput(`search is ${search.length} characters long; at most ${MAX_SEARCH_LENGTH}`);
  // LIKE's wildcards and escape character are matched as themselves.
  const text = search.replace(/[\\%_]/g, (c) => `\\${c}`);
  return {
    OR: [{ id: { contains: text, mode: 'insensitive' } }, { description: { contains: text, mode: 'insensitive' } }, { tags: { has: search } }],
  };
}

builder.prismaObject('Dag', {
  description: 'A DAG as last deployed. Its structure (tasks, edges, groups, params) is that of its newest version; each run keeps the version it started with.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'DAG id, unique across the deployment.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the DAG does, as its author wrote it.' }),
    source: t.exposeString('source', { description: 'The deploy source (DAG folder) the DAG comes from.' }),
    fileName: t.exposeString('fileName', { description: 'The DAG file, relative to its source’s folder.' }),
    schedule: t.exposeString('schedule', {
      nullable: true,
      description: 'A cron expression (read in `timezone`), a preset such as `@daily`, or a fixed interval such as `15m`; null: only triggered runs.',
    }),
    timezone: t.exposeString('timezone', { description: 'The IANA timezone its cron schedule is read in (`UTC` unless the DAG sets one).' }),
    startDate: t.expose('startDate', { type: 'DateTime', nullable: true, description: 'No scheduled interval starts before it; null: none.' }),
    endDate: t.expose('endDate', { type: 'DateTime', nullable: true, description: 'No scheduled interval starts after it; null: none.' }),
    catchup: t.exposeBoolean('catchup', { description: 'Whether every missed interval gets a run (true) or only the latest (false, the default).' }),
    maxActiveRuns: t.exposeInt('maxActiveRuns', { description: 'Most of its runs (backfill runs aside) running at once; further ones wait `queued`.' }),
    nextDataInterval: t.field({
      type: DataIntervalRef,
      nullable: true,
      description: 'The data interval of its next scheduled run (its logical date is the start). Null when paused, inactive, unscheduled, past its endDate, or not yet planned by a scheduler.',
      select: NEXT_SELECT,
      resolve: (dag) => nextOf(dag),
    }),
    tags: t.exposeStringList('tags', { description: 'Tags of the newest version; API tokens may be granted DAGs by tag.' }),
    paused: t.exposeBoolean('paused', { description: 'A paused DAG gets no scheduled runs and cannot be triggered.' }),
    isActive: t.exposeBoolean('isActive', { description: 'False once its file left its deploy source; its history is kept.' }),
    retentionDays: t.exposeInt('retentionDays', { nullable: true, description: 'Days its runs, logs, XCom and audit rows are kept (its `retention.days`); null: the platform’s retention (30 days unless configured).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the DAG was first deployed.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When a deploy last stored it (changed or not).' }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When its next scheduled run is created: the end of its next data interval (the run’s logical date is the start, `nextDataInterval.start`). In the past when a scheduler is about to create it. Null like `nextDataInterval`.',
      select: NEXT_SELECT,
      resolve: (dag) => nextOf(dag)?.end ?? null,
    }),
    latestVersion: t.prismaField({
      type: 'DagVersion',
      nullable: true,
      description: 'The newest version (what a trigger runs).',
      resolve: async (query, dag, _args, ctx, info) => {
        const id = await latestVersionId(ctx, dag.id);
        return id === null ? null : rowsById(ctx, info, id, (ids: number[]) => ctx.prisma.dagVersion.findMany({ ...query, where: { id: { in: ids } } }));
      },
    }),
    versions: t.prismaConnection(
      {
        type: 'DagVersion',
        cursor: 'dagId_versionNumber',
        description: 'Its versions, newest first.',
        ...pageLimits,
        resolve: (query, dag, _args, ctx, info) =>
          nestedPage(ctx, info, VERSIONS, dag.id, query, [], (selection, ids) => ctx.prisma.dagVersion.findMany({ ...selection, where: { id: { in: ids } } })),
      },
      ...pageTypes('DagVersion', 'DAG versions'),
    ),
    tasks: t.field({ type: [Task], ...STRUCTURE_FIELD_OPTIONS.tasks, resolve: async (dag, _args, ctx) => structureView.tasks(await latestStructure(ctx, dag.id)) }),
    edges: t.field({ type: [TaskEdge], ...STRUCTURE_FIELD_OPTIONS.edges, resolve: async (dag, _args, ctx) => structureView.edges(await latestStructure(ctx, dag.id)) }),
    groups: t.field({ type: [TaskGroup], ...STRUCTURE_FIELD_OPTIONS.groups, resolve: async (dag, _args, ctx) => structureView.groups(await latestStructure(ctx, dag.id)) }),
    owners: t.stringList({ ...STRUCTURE_FIELD_OPTIONS.owners, resolve: async (dag, _args, ctx) => structureView.owners(await latestStructure(ctx, dag.id)) }),
    paramsSchema: t.field({
      type: 'JSON',
      nullable: true,
      ...STRUCTURE_FIELD_OPTIONS.paramsSchema,
      resolve: async (dag, _args, ctx) => structureView.paramsSchema(await latestStructure(ctx, dag.id)),
    }),
    runs: t.prismaConnection(
      {
        type: 'DagRun',
        cursor: 'id',
        description: 'Its runs, newest first (`first: 5` for the recent ones).',
        args: runFilterArgs(t.arg),
        ...pageLimits,
        resolve: (query, dag, args, ctx, info) =>
          nestedPage(ctx, info, RUNS, dag.id, query, runFilter(args).sql, (selection, ids) => ctx.prisma.dagRun.findMany({ ...selection, where: { id: { in: ids } } })),
      },
      DagRunConnection,
    ),
    importError: t.prismaField({
      type: 'ImportError',
      nullable: true,
      description: 'Why its file failed at its source’s latest deploy, if it did (the DAG then keeps its last good version).',
      select: { source: true, fileName: true },
      resolve: (query, dag, _args, ctx, info) =>
        batch(ctx, `importError:${responsePath(info)}`, { source: dag.source, fileName: dag.fileName }, async (files) => {
          // The rows must carry what they are matched by, whatever the selection.
          const rows = await ctx.prisma.importError.findMany({ select: { ...query.select, id: true, source: true, fileName: true }, where: { OR: files } });
          return files.map((f) => rows.find((row) => row.source === f.source && row.fileName === f.fileName) ?? null);
        }),
    }),
  }),
});

builder.prismaObject('ImportError', {
  description: 'A DAG file that failed to bundle, load or validate at its deploy source’s latest deploy.',
  select: { id: true },
  fields: (t) => ({
    source: t.exposeString('source', { description: 'The deploy source (DAG folder) of the file.' }),
    fileName: t.exposeString('fileName', { description: 'The file, relative to its source’s folder.' }),
    message: t.exposeString('message', { description: 'What went wrong, naming the file, DAG and task.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the deploy that found it ran.' }),
  }),
});

builder.queryFields((t) => ({
  dags: t.prismaConnection(
    {
      type: 'Dag',
      cursor: 'id',
      description: 'The DAGs the caller may see, by id (a token limited to some DAGs sees only those).',
      args: {
        includeInactive: t.arg.boolean({ defaultValue: false, description: 'Also list DAGs whose file is gone (retired).' }),
        tags: t.arg.stringList({ description: 'Only DAGs with at least one of these tags.' }),
        paused: t.arg.boolean({ description: 'Only paused (true) or unpaused (false) DAGs.' }),
        search: t.arg.string({
          description: `Only DAGs whose id or description contains this text, or that have it as a tag (case-insensitive; at most ${MAX_SEARCH_LENGTH} characters).`,
        }),
      },
      authScopes: { role: 'viewer' },
      ...pageLimits,
      resolve: (query, _root, args, ctx) => {
        if (args.tags != null && (args.tags.length === 0 || args.tags.length > 20)) throw badInput('tags must list 1 to 20 tags; leave it out for all');
        const filters: Prisma.DagWhereInput[] = [];
        if (!args.includeInactive) filters.push({ isActive: true });
        if (args.tags != null) filters.push({ tags: { hasSome: args.tags } });
        if (args.paused != null) filters.push({ paused: args.paused });
        const search = args.search?.trim();
        if (search) filters.push(searchWhere(search));
        const granted = dagWhere(ctx.caller);
        if (granted) filters.push(granted);
        return ctx.prisma.dag.findMany({ ...query, where: { AND: filters }, orderBy: { id: 'asc' } });
      },
    },
    ...pageTypes('Dag', 'DAGs'),
  ),
  dagTags: t.stringList({
    description: `The tags of the DAGs the caller may see (active ones), sorted: what \`dags(tags:)\` can filter by. At most ${MAX_LISTED_TAGS}.`,
    authScopes: { role: 'viewer' },
    resolve: async (_root, _args, ctx) => {
      const granted = dagWhere(ctx.caller);
      const rows = await ctx.prisma.dag.findMany({ where: { AND: [{ isActive: true }, ...(granted ? [granted] : [])] }, select: { tags: true } });
      return [...new Set(rows.flatMap((row) => row.tags))].sort().slice(0, MAX_LISTED_TAGS);
    },
  }),
  dag: t.prismaField({
    type: 'Dag',
    description: 'One DAG by id (NOT_FOUND if there is none; FORBIDDEN outside the caller’s grants, existing or not).',
    args: { id: t.arg.id({ required: true, description: 'The DAG id.' }) },
    authScopes: (_root, args) => ({ role: 'viewer', dag: String(args.id) }),
    resolve: async (query, _root, args, ctx) => {
      checkDagId(String(args.id));
      const dag = await ctx.prisma.dag.findUnique({ ...query, where: { id: String(args.id) } });
      if (!dag) throw notFound(`DAG "${args.id}" does not exist`);
      return dag;
    },
  }),
  importErrors: t.prismaConnection(
    {
      type: 'ImportError',
      cursor: 'source_fileName',
      description: 'DAG files that failed at their source’s latest deploy, by source and file. A token limited to some DAGs sees only the files of those DAGs.',
      authScopes: { role: 'viewer' },
      ...pageLimits,
      resolve: async (query, _root, _args, ctx) => {
        const granted = dagWhere(ctx.caller);
        let where: Prisma.ImportErrorWhereInput = {};
        if (granted) {
          const files = await ctx.prisma.dag.findMany({ where: granted, select: { source: true, fileName: true }, distinct: ['source', 'fileName'] });
          if (files.length === 0) return [];
          where = { OR: files };
        }
        return ctx.prisma.importError.findMany({ ...query, where, orderBy: [{ source: 'asc' }, { fileName: 'asc' }] });
      },
    },
    ...pageTypes('ImportError', 'import errors'),
  ),
}));

const SetDagPausedInput = builder.inputType('SetDagPausedInput', {
  description: 'Which DAG to pause or unpause.',
  fields: (t) => ({
    dagId: t.string({ required: true, description: 'The DAG id.' }),
    paused: t.boolean({ required: true, description: 'True to pause, false to unpause.' }),
  }),
});

builder.mutationFields((t) => ({
  setDagPaused: t.prismaField({
    type: 'Dag',
    description: 'Pauses or unpauses a DAG: a paused DAG gets no scheduled runs and cannot be triggered.',
    args: { input: t.arg({ type: SetDagPausedInput, required: true, description: 'The DAG and its new state.' }) },
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
