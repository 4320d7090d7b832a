// Pools through the API: listed by viewers, set and deleted by ops (audited). Slots hold
// across every worker; see executor/capacity.ts.
import { deletePool, poolUsage, setPool, checkPoolName } from '../../executor/pools.js';
import { notFound } from '../../errors.js';
import { builder } from '../builder.js';
import { pageTypes } from './connections.js';
import { pageLimits } from '../limits.js';

interface Usage {
  occupiedSlots: number;
  runningSlots: number;
  queuedSlots: number;
  waitingInstances: number;
  openSlots: number | null;
}

const PoolUsage = builder.objectRef<Usage>('PoolUsage').implement({
  description: 'What a pool’s task instances hold and wait for now (instances a limit governs; see `TaskInstance.waitingFor`).',
  fields: (t) => ({
    occupiedSlots: t.exposeInt('occupiedSlots', { description: 'Slots held by its task instances that are queued or running.' }),
    runningSlots: t.exposeInt('runningSlots', { description: 'Slots held by its running task instances.' }),
    queuedSlots: t.exposeInt('queuedSlots', { description: 'Slots held by its queued task instances (admitted, not yet started by a worker).' }),
    waitingInstances: t.exposeInt('waitingInstances', { description: 'Task instances waiting (`scheduled`, or a retry) for its slots.' }),
    openSlots: t.exposeInt('openSlots', { nullable: true, description: 'Slots free now (0 when it holds more than its size); null for an unlimited pool.' }),
  }),
});

builder.prismaObject('Pool', {
  description:
    'A pool of slots shared by every worker (Airflow’s pools): its task instances start only while it has room for their `poolSlots`, the highest priority weight first. `default_pool` holds every task not given a pool; it is unlimited until its slots are set.',
  select: { name: true },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What tasks name it by (`pool` option).' }),
    slots: t.exposeInt('slots', { nullable: true, description: 'Its size; null: unlimited.' }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last set.' }),
    usage: t.field({
      type: PoolUsage,
      description: 'What its task instances hold and wait for now.',
      select: { slots: true },
      resolve: async (p, _args, ctx) => {
        const used = (await poolUsage(ctx.pool, [p.name])).get(p.name)!;
        return { ...used, openSlots: p.slots === null ? null : Math.max(0, p.slots - used.occupiedSlots) };
      },
    }),
  }),
});

builder.queryFields((t) => ({
  pools: t.prismaConnection(
    {
      type: 'Pool',
      cursor: 'name',
      description: 'Every pool, by name (viewer, with a token not limited to some DAGs).',
      authScopes: { role: 'viewer', everyDag: true },
      ...pageLimits,
      resolve: (query, _root, _args, ctx) => ctx.prisma.pool.findMany({ ...query, orderBy: { name: 'asc' } }),
    },
    ...pageTypes('Pool', 'pools'),
  ),
  pool: t.prismaField({
    type: 'Pool',
    description: 'One pool (NOT_FOUND when there is none).',
    args: { name: t.arg.string({ required: true, description: 'The pool’s name.' }) },
    authScopes: { role: 'viewer', everyDag: true },
    resolve: async (query, _root, args, ctx) => {
      checkPoolName(args.name);
      const found = await ctx.prisma.pool.findUnique({ ...query, where: { name: args.name } });
      if (!found) throw notFound(`Pool "${args.name}" does not exist`);
      return found;
    },
  }),
}));

const SetPoolInput = builder.inputType('SetPoolInput', {
  description: 'A pool to create or resize.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters: letters, digits, `_`, `-`, `.`.' }),
    slots: t.int({ description: 'Its size, 0 to 1,000,000 (0 holds every task of the pool back); null or absent: unlimited.' }),
    description: t.string({ description: 'What it is for (absent: kept as it was).' }),
  }),
});

const SetPoolPayload = builder.objectRef<{ name: string }>('SetPoolPayload').implement({
  description: 'What `setPool` stored.',
  fields: (t) => ({
    pool: t.prismaField({
      type: 'Pool',
      description: 'The pool as stored now.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.pool.findUniqueOrThrow({ ...query, where: { name: payload.name } }),
    }),
  }),
});

const DeletePoolInput = builder.inputType('DeletePoolInput', {
  description: 'The pool to delete.',
  fields: (t) => ({ name: t.string({ required: true, description: 'The pool’s name.' }) }),
});
const DeletePoolPayload = builder.objectRef<{ name: string }>('DeletePoolPayload').implement({
  description: 'What `deletePool` deleted.',
  fields: (t) => ({ name: t.exposeString('name', { description: 'The deleted pool’s name.' }) }),
});

builder.mutationFields((t) => ({
  setPool: t.field({
    type: SetPoolPayload,
    description:
      'Creates or resizes a pool (op). Task instances waiting for it start at once if it now has room; a pool made smaller stops nothing that runs, it admits nothing until enough has ended.',
    args: { input: t.arg({ type: SetPoolInput, required: true, description: 'The pool.' }) },
    authScopes: { role: 'op', everyDag: true },
    audit: ({ input }) => ({ target: `pool:${input.name}`, details: { slots: input.slots ?? null } }),
    resolve: async (_root, { input }, ctx) => {
      await setPool(ctx.pool, { name: input.name, slots: input.slots ?? null, description: input.description ?? null });
      return { name: input.name };
    },
  }),
  deletePool: t.field({
    type: DeletePoolPayload,
    description: 'Deletes a pool (op); NOT_FOUND when there is none. `default_pool` cannot be deleted. Its waiting task instances wait on, saying the pool does not exist.',
    args: { input: t.arg({ type: DeletePoolInput, required: true, description: 'Which pool.' }) },
    authScopes: { role: 'op', everyDag: true },
    audit: ({ input }) => ({ target: `pool:${input.name}` }),
    resolve: async (_root, { input }, ctx) => {
      await deletePool(ctx.pool, input.name);
      return { name: input.name };
    },
  }),
}));
