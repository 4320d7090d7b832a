// Backfills: create one over a range of logical dates, follow its progress, cancel it.
import { dagWhere, parseBackfillId } from '../../auth.js';
import { cancelBackfill, createBackfill } from '../../backfill.js';
import { notFound } from '../../errors.js';
import { checkDagId } from '../../runs.js';
import { builder, type ApiContext } from '../builder.js';
import { pageLimits } from '../limits.js';
import { pageTypes } from './connections.js';

const BackfillReprocess = builder.enumType('BackfillReprocess', {
  description: 'Which logical dates that already have a run a backfill runs again (runs still queued or running are always left alone).',
  values: {
    NONE: { value: 'none', description: 'None: only dates without a run get one.' },
    FAILED: { value: 'failed', description: 'Dates whose run failed: the run is cleared and runs again as part of the backfill.' },
    ALL: { value: 'all', description: 'Every date whose run ended: cleared and run again as part of the backfill.' },
  } as const,
});

type Progress = Record<'queued' | 'running' | 'success' | 'failed', number>;
const progressByRequest = new WeakMap<ApiContext, Map<number, Promise<Progress>>>();

/** Its runs per state: one statement per backfill per request, whichever progress fields are asked for. */
function progress(ctx: ApiContext, backfillId: number): Promise<Progress> {
  let known = progressByRequest.get(ctx);
  if (!known) progressByRequest.set(ctx, (known = new Map()));
  let p = known.get(backfillId);
  if (!p) known.set(backfillId, (p = countRuns(ctx, backfillId)));
  return p;
}

async function countRuns(ctx: ApiContext, backfillId: number): Promise<Progress> {
  const rows = await ctx.prisma.dagRun.groupBy({ by: ['state'], where: { backfillId }, _count: { _all: true } });
  const count = (state: string) => rows.find((r) => r.state === state)?._count._all ?? 0;
  return { queued: count('queued'), running: count('running'), success: count('success'), failed: count('failed') };
}

builder.prismaObject('Backfill', {
  description: 'A backfill: runs typed `backfill` for every interval of a DAG’s schedule whose logical date lies in a range, at most `maxActiveRuns` running at once.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The backfill’s id (what `backfill(id)` and `cancelBackfill` take).' }),
    dagId: t.exposeString('dagId', { description: 'The DAG it runs.' }),
    from: t.expose('fromDate', { type: 'DateTime', description: 'First logical date of its range (included).' }),
    to: t.expose('toDate', { type: 'DateTime', description: 'Last logical date of its range (included).' }),
    reprocess: t.expose('reprocess', { type: BackfillReprocess, description: 'Which dates that already had a run it ran again.' }),
    maxActiveRuns: t.exposeInt('maxActiveRuns', { description: 'Most of its runs running at once; the others wait `queued`.' }),
    runsCreated: t.exposeInt('runsCreated', { description: 'Runs it created or reprocessed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was asked for.' }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true, description: 'When it was cancelled; null unless it was.' }),
    runsQueued: t.int({ description: 'Its runs waiting for a slot.', resolve: async (b, _args, ctx) => (await progress(ctx, b.id)).queued }),
    runsRunning: t.int({ description: 'Its runs running now.', resolve: async (b, _args, ctx) => (await progress(ctx, b.id)).running }),
    runsDone: t.int({
      description: 'Its runs that ended (`success` or `failed`, cancelled ones included).',
      resolve: async (b, _args, ctx) => {
        const p = await progress(ctx, b.id);
        return p.success + p.failed;
      },
    }),
    runsFailed: t.int({ description: 'Its runs that ended `failed`.', resolve: async (b, _args, ctx) => (await progress(ctx, b.id)).failed }),
    done: t.boolean({
      description: 'True once none of its runs is queued or running.',
      resolve: async (b, _args, ctx) => {
        const p = await progress(ctx, b.id);
        return p.queued + p.running === 0;
      },
    }),
  }),
});

builder.queryFields((t) => ({
  backfill: t.prismaField({
    type: 'Backfill',
    description: 'A backfill by id, with its progress.',
    args: { id: t.arg.id({ required: true, description: 'The backfill’s id.' }) },
    authScopes: (_root, args) => ({ role: 'viewer', backfill: String(args.id) }),
    resolve: async (query, _root, args, ctx) => {
      const backfill = await ctx.prisma.backfill.findUnique({ ...query, where: { id: parseBackfillId(String(args.id)) } });
      if (!backfill) throw notFound(`Backfill ${args.id} does not exist`);
      return backfill;
    },
  }),
  backfills: t.prismaConnection(
    {
      type: 'Backfill',
      cursor: 'id',
      description: 'Backfills, newest first; only those of DAGs the caller may see.',
      args: { dagId: t.arg.string({ description: 'Only the backfills of this DAG.' }) },
      authScopes: (_root, args) => (args.dagId == null ? { role: 'viewer' } : { role: 'viewer', dag: args.dagId }),
      ...pageLimits,
      resolve: (query, _root, args, ctx) => {
        if (args.dagId != null) checkDagId(args.dagId);
        const granted = dagWhere(ctx.caller);
        return ctx.prisma.backfill.findMany({ ...query, where: { ...(args.dagId != null ? { dagId: args.dagId } : {}), ...(granted ? { dag: granted } : {}) }, orderBy: { id: 'desc' } });
      },
    },
    ...pageTypes('Backfill', 'backfills'),
  ),
}));

const BackfillInput = builder.inputType('BackfillInput', {
  description: 'What to backfill.',
  fields: (t) => ({
    dagId: t.string({ required: true, description: 'The DAG id.' }),
    from: t.field({ type: 'DateTime', required: true, description: 'First logical date (included): the first interval is the schedule’s first that starts at or after it.' }),
    to: t.field({ type: 'DateTime', required: true, description: 'Last logical date (included).' }),
    reprocess: t.field({ type: BackfillReprocess, defaultValue: 'none', description: 'Which dates that already have a run to run again; default NONE.' }),
    maxActiveRuns: t.int({ description: 'Most of its runs running at once (1 to 1,000); default: the DAG’s maxActiveRuns.' }),
  }),
});

const BackfillPayload = builder.objectRef<{ backfillId: number; runsCreated: number }>('BackfillPayload').implement({
  description: 'The backfill created.',
  fields: (t) => ({
    runsCreated: t.exposeInt('runsCreated', { description: 'Runs it created (or reprocessed); the first ones start at once.' }),
    backfillId: t.id({ description: 'Its id.', resolve: (p) => p.backfillId }),
    backfill: t.prismaField({
      type: 'Backfill',
      description: 'The backfill, with its progress.',
      resolve: (query, p, _args, ctx) => ctx.prisma.backfill.findUniqueOrThrow({ ...query, where: { id: p.backfillId } }),
    }),
  }),
});

const CancelBackfillInput = builder.inputType('CancelBackfillInput', {
  description: 'The backfill to cancel.',
  fields: (t) => ({ id: t.id({ required: true, description: 'The backfill’s id.' }) }),
});

builder.mutationFields((t) => ({
  backfill: t.field({
    type: BackfillPayload,
    description: 'Backfills a DAG: a run typed `backfill` for every interval of its schedule whose logical date lies in [from, to] (at most 10,000), queued and started at most maxActiveRuns at a time, oldest first.',
    args: { input: t.arg({ type: BackfillInput, required: true, description: 'The DAG, the range and how to run it.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', dag: input.dagId }),
    audit: ({ input }, result) => ({
      target: `dag:${input.dagId}`,
      dagId: input.dagId,
      details: { from: input.from, to: input.to, reprocess: input.reprocess, maxActiveRuns: input.maxActiveRuns, ...(result ? result : {}) },
    }),
    resolve: (_root, { input }, ctx) =>
      createBackfill(ctx.pool, {
        dagId: input.dagId,
        from: input.from as Date,
        to: input.to as Date,
        reprocess: input.reprocess ?? 'none',
        maxActiveRuns: input.maxActiveRuns ?? null,
        createdBy: ctx.caller.actor,
      }),
  }),
  cancelBackfill: t.prismaField({
    type: 'Backfill',
    description: 'Cancels a backfill: its queued runs fail at once (cancelled) and no more start; its running runs go on to their end.',
    args: { input: t.arg({ type: CancelBackfillInput, required: true, description: 'The backfill.' }) },
    authScopes: (_root, { input }) => ({ role: 'user', backfill: String(input.id) }),
    audit: ({ input }) => ({ target: `backfill:${String(input.id)}` }),
    resolve: async (query, _root, { input }, ctx) => {
      const id = parseBackfillId(String(input.id));
      await cancelBackfill(ctx.pool, id);
      return ctx.prisma.backfill.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
