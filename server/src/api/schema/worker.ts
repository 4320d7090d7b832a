import { pageTypes } from './connections.js';
import { builder } from '../builder.js';
import { pageLimits } from '../limits.js';

builder.prismaObject('Worker', {
  description: 'A process that runs task instances (`updraft worker`, or the worker of `updraft start`); it sends a heartbeat every few seconds.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: '`<hostname>-<pid>-<random>`, as in the tries it ran.' }),
    hostname: t.exposeString('hostname', { description: 'The machine it runs on.' }),
    pid: t.exposeInt('pid', { description: 'Its process id on that machine.' }),
    concurrency: t.exposeInt('concurrency', { description: 'How many task instances it runs at once.' }),
    queues: t.exposeStringList('queues', { description: 'The queues it takes task instances from (`--queues`).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it started.' }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime', description: 'Its latest heartbeat.' }),
    stoppedAt: t.expose('stoppedAt', { type: 'DateTime', nullable: true, description: 'Set when it stopped, or was found lost.' }),
    alive: t.boolean({
      description: 'Not stopped, and its latest heartbeat is within the lost-worker timeout (30 s by default): past it, its tries are failed as `WorkerLost`.',
      select: { stoppedAt: true, lastHeartbeatAt: true },
      resolve: (w, _args, ctx) => w.stoppedAt === null && Date.now() - w.lastHeartbeatAt.getTime() <= ctx.lostWorkerTimeoutMs,
    }),
    runningTryIds: t.stringList({
      description: 'Ids of the tries it held at its latest heartbeat.',
      select: { runningTryIds: true },
      resolve: (w) => w.runningTryIds.map(String),
    }),
  }),
});

builder.queryFields((t) => ({
  workers: t.prismaConnection(
    {
      type: 'Worker',
      cursor: 'id',
      description: 'Workers, the most recently started first; only those not stopped unless `includeStopped`.',
      args: { includeStopped: t.arg.boolean({ defaultValue: false, description: 'Also list workers that stopped or were found lost.' }) },
      authScopes: { role: 'viewer' },
      ...pageLimits,
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.worker.findMany({ ...query, where: args.includeStopped ? {} : { stoppedAt: null }, orderBy: [{ startedAt: 'desc' }, { id: 'asc' }] }),
    },
    ...pageTypes('Worker', 'workers'),
  ),
}));
