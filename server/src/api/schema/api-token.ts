import { ROLES, type Role } from '../../auth.js';
import { createApiToken, parseTokenPrefix, revokeApiToken } from '../../tokens.js';
import { builder } from '../builder.js';
import { pageLimits } from '../limits.js';
import { pageTypes } from './connections.js';

const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'Reads DAGs, runs, task instances, logs and workers.',
  user: 'Also triggers runs, pauses DAGs, clears, marks and cancels.',
  op: 'Also reads the audit log (and manages variables, connections and pools).',
  admin: 'Also manages API tokens and deletes DAGs.',
};

export const ApiRole = builder.enumType('ApiRole', {
  description: 'What a token may do, weakest first; each role may do what the ones before it may (Airflow’s roles).',
  values: Object.fromEntries(ROLES.map((role) => [role, { description: ROLE_DESCRIPTIONS[role] }])) as Record<Role, { description: string }>,
});

const ApiTokenStatus = builder.enumType('ApiTokenStatus', {
  description: 'Whether a token is accepted.',
  values: {
    active: { description: 'Accepted.' },
    expired: { description: 'Refused: past its `expiresAt`.' },
    revoked: { description: 'Refused: revoked.' },
  } as const,
});

// Never the secret nor its hash: only what identifies and limits a token.
builder.prismaObject('ApiToken', {
  description: 'An API token, without its secret (shown once, by createApiToken).',
  select: { id: true },
  fields: (t) => ({
    prefix: t.exposeString('prefix', { description: 'Public id of the token: the token starts with `upd_<prefix>_`.' }),
    name: t.exposeString('name', { nullable: true, description: 'The name it was given, shown in listings and the audit log.' }),
    role: t.expose('role', { type: ApiRole, description: 'What it may do.' }),
    dagIds: t.exposeStringList('dagIds', { description: 'With tags, the DAGs the token is limited to; both empty: every DAG.' }),
    tags: t.exposeStringList('tags', { description: 'With dagIds, the DAGs the token is limited to: those carrying one of these tags.' }),
    createdBy: t.exposeString('createdBy', { description: 'The audit actor that created it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When it stops working; null: never.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked; null if it was not.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Refreshed at most once a minute.' }),
    status: t.field({
      type: ApiTokenStatus,
      description: 'Whether it is accepted now.',
      select: { revokedAt: true, expiresAt: true },
      resolve: (token) => (token.revokedAt ? 'revoked' : token.expiresAt && token.expiresAt.getTime() <= Date.now() ? 'expired' : 'active'),
    }),
  }),
});

builder.queryFields((t) => ({
  apiTokens: t.prismaConnection(
    {
    type: 'ApiToken',
    cursor: 'id',
    description: 'Every API token, newest first (admin).',
    args: { includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Also list revoked tokens.' }) },
    authScopes: { role: 'admin', everyDag: true },
    ...pageLimits,
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.apiToken.findMany({ ...query, where: args.includeRevoked ? {} : { revokedAt: null }, orderBy: { id: 'desc' } }),
    },
    ...pageTypes('ApiToken', 'API tokens'),
  ),
}));

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: 'The token to create.',
  fields: (t) => ({
    name: t.string({ description: 'Shown in listings and the audit log.' }),
    role: t.field({ type: ApiRole, required: true, description: 'What it may do.' }),
    dagIds: t.stringList({ description: 'Limit the token to these DAGs (and those of `tags`).' }),
    tags: t.stringList({ description: 'Limit the token to the DAGs with one of these tags (and those of `dagIds`).' }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the token stops working; default never.' }),
  }),
});

const CreateApiTokenPayload = builder.objectRef<{ token: string; prefix: string }>('CreateApiTokenPayload').implement({
  description: 'A new token, with its secret.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The token. It is shown this once and cannot be retrieved later: store it now.' }),
    apiToken: t.prismaField({
      type: 'ApiToken',
      description: 'The token as listings show it.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.apiToken.findUniqueOrThrow({ ...query, where: { prefix: payload.prefix } }),
    }),
  }),
});

const RevokeApiTokenInput = builder.inputType('RevokeApiTokenInput', {
  description: 'The token to revoke.',
  fields: (t) => ({ prefix: t.string({ required: true, description: 'The token’s prefix, with or without `upd_`.' }) }),
});

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreateApiTokenPayload,
    description: 'Creates an API token (admin). The payload holds the token, which is never shown again.',
    args: { input: t.arg({ type: CreateApiTokenInput, required: true, description: 'The token’s role, grants, name and expiry.' }) },
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
    args: { input: t.arg({ type: RevokeApiTokenInput, required: true, description: 'Which token.' }) },
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
