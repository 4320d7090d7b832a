import { ROLES } from '../../auth.js';
import { createApiToken, parseTokenPrefix, revokeApiToken } from '../../tokens.js';
import { builder } from '../builder.js';
import { pageLimits } from '../limits.js';

const ApiRole = builder.enumType('ApiRole', {
  description: 'viewer reads; user also triggers, clears and pauses; op also manages variables, connections and pools and reads the audit log; admin also manages tokens and deletes.',
  values: ROLES,
});

const ApiTokenStatus = builder.enumType('ApiTokenStatus', { values: ['active', 'expired', 'revoked'] as const });

// Never the secret nor its hash: only what identifies and limits a token.
builder.prismaObject('ApiToken', {
  description: 'An API token, without its secret (shown once, by createApiToken).',
  select: { id: true },
  fields: (t) => ({
    prefix: t.exposeString('prefix', { description: 'Public id of the token: the token starts with `upd_<prefix>_`.' }),
    name: t.exposeString('name', { nullable: true }),
    role: t.expose('role', { type: ApiRole }),
    dagIds: t.exposeStringList('dagIds', { description: 'With tags, the DAGs the token is limited to; both empty: every DAG.' }),
    tags: t.exposeStringList('tags'),
    createdBy: t.exposeString('createdBy', { description: 'The audit actor that created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Refreshed at most once a minute.' }),
    status: t.field({
      type: ApiTokenStatus,
      select: { revokedAt: true, expiresAt: true },
      resolve: (token) => (token.revokedAt ? 'revoked' : token.expiresAt && token.expiresAt.getTime() <= Date.now() ? 'expired' : 'active'),
    }),
  }),
});

builder.queryFields((t) => ({
  apiTokens: t.prismaConnection({
    type: 'ApiToken',
    cursor: 'id',
    description: 'Every API token, newest first (admin).',
    args: { includeRevoked: t.arg.boolean({ defaultValue: false }) },
    authScopes: { role: 'admin', everyDag: true },
    ...pageLimits,
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.apiToken.findMany({ ...query, where: args.includeRevoked ? {} : { revokedAt: null }, orderBy: { id: 'desc' } }),
  }),
}));

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ description: 'Shown in listings and the audit log.' }),
    role: t.field({ type: ApiRole, required: true }),
    dagIds: t.stringList({ description: 'Limit the token to these DAGs (and those of `tags`).' }),
    tags: t.stringList({ description: 'Limit the token to the DAGs with one of these tags (and those of `dagIds`).' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the token stops working; default never.' }),
  }),
});

const CreateApiTokenPayload = builder.objectRef<{ token: string; prefix: string }>('CreateApiTokenPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The token. It is shown this once and cannot be retrieved later: store it now.' }),
    apiToken: t.prismaField({
      type: 'ApiToken',
      resolve: (query, payload, _args, ctx) => ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { prefix: payload.prefix } }),
    }),
  }),
});

const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  fields: (t) => ({ prefix: t.string({ required: true, description: 'The token’s prefix, with or without `upd_`.' }) }),
});

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreateApiTokenPayload,
    description: 'Creates an API token (admin). The payload holds the token, which is never shown again.',
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    authScopes: { role: 'admin', everyDag: true },
    audit: ({ input }, result) => ({
      target: result ? `api_token:${result.prefix}` : null,
      details: { name: input.name ?? null, role: input.role, dagIds: input.dagIds ?? [], tags: input.tags ?? [], expiresAt: input.expiresAt?.toISOString() ?? null },
    }),
    resolve: async (_root, { input }, ctx) => {
      const { token, info } = await createApiToken(ctx.prisma, input, ctx.caller.actor);
      return { token, prefix: info.prefix };
    },
  }),
  revokeApiToken: t.prismaField({
    type: 'ApiToken',
    description: 'Revokes an API token (admin): it is refused from now on; its row stays for the record.',
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true }) },
    authScopes: { role: 'admin', everyDag: true },
    audit: ({ input }) => ({ target: `api_token:${safePrefix(input.prefix)}` }),
    resolve: async (query, _root, { input }, ctx) => {
      const { prefix } = await revokeApiToken(ctx.prisma, input.prefix);
      return ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { prefix } });
    },
  }),
}));

/** The prefix for the audit row; a whole token pasted by mistake is not written down. */
function safePrefix(text: string): string {
  try {
    return parseTokenPrefix(text);
  } catch {
    return '(invalid)';
  }
}
