import { builder } from '../builder.js';
import { pageLimits } from '../limits.js';

builder.prismaObject('Worker', {
  description: 'A process that runs task instances; it sends a heartbeat every 5 s.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    hostname: t.exposeString('hostname'),
    pid: t.exposeInt('pid'),
    concurrency: t.exposeInt('concurrency'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime' }),
    stoppedAt: t.expose('stoppedAt', { type: 'DateTime', nullable: true, description: 'Set when it stopped, or was found lost.' }),
  }),
});

builder.queryFields((t) => ({
  workers: t.prismaConnection({
    type: 'Worker',
    cursor: 'id',
    description: 'Running workers first, newest first.',
    args: { includeStopped: t.arg.boolean({ defaultValue: false }) },
    authScopes: { role: 'viewer' },
    ...pageLimits,
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.worker.findMany({ ...query, where: args.includeStopped ? {} : { stoppedAt: null }, orderBy: [{ startedAt: 'desc' }, { id: 'asc' }] }),
  }),
}));
