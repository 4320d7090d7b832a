import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { pageTypes } from './connections.js';

builder.prismaObject('RetentionPass', {
  description: 'One retention pass (the cron job, `updraft db clean`, a maintenance DAG) and what it deleted.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The pass’s id.' }),
    trigger: t.exposeString('trigger', { description: 'What ran it: `cron`, `cli`, or `dag:<dag id>` for a maintenance DAG.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it started.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while it runs (or if its process died).' }),
    policy: t.expose('policy', {
      type: 'JSON',
      complexity: JSON_FIELD_COST,
      description: 'What it applied: `tables`, the age in days per table (`days`) or for all (`olderThanDays`), `dagId`, `keepLastPerDag`, `batchSize`.',
    }),
    deleted: t.expose('deleted', {
      type: 'JSON',
      complexity: JSON_FIELD_COST,
      description: 'Rows deleted per table: `dag_run`, `task_instance`, `task_try`, `xcom`, `task_log`, `audit_log`, `import_error`, `worker`, `scheduler`, `job`.',
    }),
    blobs: t.exposeInt('blobs', { description: 'Of the XCom values it deleted, those kept in the object store: their blobs were deleted with them.' }),
    batches: t.exposeInt('batches', { description: 'Delete transactions it ran (each of at most one batch of rows).' }),
    maxBatchMs: t.exposeInt('maxBatchMs', { description: 'The longest of those transactions, in milliseconds: the longest it held any row lock.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it stopped before the end, if it did (what it deleted until then stays deleted).' }),
  }),
});

builder.queryFields((t) => ({
  retentionPasses: t.prismaConnection(
    {
      type: 'RetentionPass',
      cursor: 'id',
      description: 'Retention passes, newest first (op and above): what the retention job, `updraft db clean` and the maintenance DAGs deleted.',
      args: { trigger: t.arg.string({ description: 'Only passes with this trigger (`cron`, `cli`, `dag:<dag id>`).' }) },
      authScopes: { role: 'op' },
      ...pageLimits,
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.retentionPass.findMany({ ...query, where: args.trigger != null ? { trigger: args.trigger.slice(0, 300) } : {}, orderBy: { id: 'desc' } }),
    },
    ...pageTypes('RetentionPass', 'retention passes'),
  ),
}));
