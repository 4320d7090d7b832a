import { accessibleDagIds } from '../../auth.js';
import { badInput } from '../../errors.js';
import { checkDagId } from '../../runs.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { pageTypes } from './connections.js';

builder.prismaObject('AuditLog', {
  description: 'One mutation attempt or failed authentication.',
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The row’s id.', resolve: (row) => String(row.id) }),
    at: t.expose('at', { type: 'DateTime', description: 'When it happened.' }),
    actor: t.exposeString('actor', { description: '`local` (open API), `anonymous` (no token) or `token:<prefix>`.' }),
    actorName: t.exposeString('actorName', { nullable: true, description: 'The token’s name, if it has one.' }),
    action: t.exposeString('action', { description: 'The mutation’s name, or `authenticate` for a failed authentication.' }),
    target: t.exposeString('target', { nullable: true, description: '`dag:<id>`, `dag_run:<id>`, `api_token:<prefix>`…' }),
    dagId: t.exposeString('dagId', { nullable: true, description: 'The DAG it concerns, if any (tokens limited to DAGs see only their DAGs’ rows).' }),
    outcome: t.exposeString('outcome', { description: '`success`, `denied` or `failed: <message>`.' }),
    details: t.expose('details', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: 'Arguments and results worth keeping (e.g. the new run’s id); never a secret.' }),
    clientAddress: t.exposeString('clientAddress', { nullable: true, description: 'The client’s IP address; null for a call made in process (the CLI).' }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.prismaConnection(
    {
    type: 'AuditLog',
    cursor: 'id',
    description: 'The audit log, newest first (op and above). A token limited to some DAGs sees only the rows of those DAGs.',
    args: {
      action: t.arg.string({ description: 'Only this action (a mutation’s name, or `authenticate`).' }),
      actor: t.arg.string({ description: 'Only this actor (`token:<prefix>`, `local`, `anonymous`).' }),
      dagId: t.arg.string({ description: 'Only rows about this DAG.' }),
    },
    authScopes: (_root, args) => (args.dagId == null ? { role: 'op' } : { role: 'op', dag: args.dagId }),
    ...pageLimits,
    resolve: async (query, _root, args, ctx) => {
      if (args.dagId != null) checkDagId(args.dagId);
      for (const [name, value] of [['action', args.action], ['actor', args.actor]] as const) {
        if (value != null && (value.includes('\u0000') || value.length > 300)) throw badInput(`${name} must have at most 300 characters and no NUL character`);
      }
      const granted = await accessibleDagIds(ctx.prisma, ctx.caller);
      const where = {
        ...(args.action != null ? { action: args.action } : {}),
        ...(args.actor != null ? { actor: args.actor } : {}),
        ...(args.dagId != null ? { dagId: args.dagId } : {}),
        ...(granted ? { AND: [{ dagId: { in: granted } }] } : {}),
      };
      return ctx.prisma.auditLog.findMany({ ...query, where, orderBy: { id: 'desc' } });
    },
    },
    ...pageTypes('AuditLog', 'audit log rows'),
  ),
}));
