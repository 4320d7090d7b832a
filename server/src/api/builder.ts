import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { type AuthFailure, AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import type { Pool } from 'pg';
import { type Caller, describeCaller, hasRole, mayAccessDag, mayAccessBackfill, mayAccessDagRun, type Role } from '../auth.js';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/prisma.js';
import type { SecretKeySource } from '../secrets/key.js';
import { UpdraftError } from '../errors.js';
import type { LiveUpdates } from '../live/live-updates.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import AuditPlugin from './audit-plugin.js';
import type { RequestAuth } from './authentication.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { LIMITS, limitExceeded, pageSize } from './limits.js';

/** The database handles of the API (and its live updates), shared by all requests. */
export interface ApiDatabase {
  prisma: Db;
  /** For the hot-path SQL (triggering runs enqueues jobs in the same transaction). */
  pool: Pool;
  /** Live updates (the subscriptions); without them, subscribing fails with SERVICE_UNAVAILABLE. */
  live?: LiveUpdates;
}

/** Per-request context of the GraphQL API: the database, who is asking (api/authentication.ts), the key that seals secrets, and the settings. */
export interface ApiContext extends ApiDatabase, RequestAuth {
  /** A worker or scheduler silent this long is taken for dead (`alive`, `health`): the platform's lost-worker timeout. */
  lostWorkerTimeoutMs: number;
  secretKey: SecretKeySource;
  /** The installed plugins (the `plugins` query) and connection tests (`testConnection`). */
  plugins: PluginRegistry;
}

/**
 * The scopes fields require (`authScopes`), all of which must hold (`defaultStrategy: 'all'`).
 * Each is decided by auth.ts. Query and Mutation require `authenticated` on every field unless
 * it sets `skipTypeScopes` (a public field such as `health`).
 */
export interface AuthScopes {
  /** A token, or an open API. */
  authenticated: boolean;
  /** At least this role. */
  role: Role;
  /** A token that is not limited to some DAGs (grants could not be enforced on what it asks). */
  everyDag: boolean;
  /** The DAG with this id is within the caller's grants. */
  dag: string;
  /** The DAG of the run with this id is within the caller's grants. */
  dagRun: string;
  /** The DAG of the backfill with this id is within the caller's grants. */
  backfill: string;
}

export const builder = new SchemaBuilder<{
  Context: ApiContext;
  AuthScopes: AuthScopes;
  DefaultAuthStrategy: 'all';
  PrismaTypes: PrismaTypes;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
  };
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // Order matters: audit wraps scope-auth (so it sees denials), which wraps the resolvers.
  plugins: [AuditPlugin, ScopeAuthPlugin, ComplexityPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    defaultStrategy: 'all',
    // A subscription is authorized when it starts, not only per event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: ctx.caller.role !== null,
      role: (role) => hasRole(ctx.caller, role),
      everyDag: ctx.caller.grants === null,
      dag: (dagId) => mayAccessDag(ctx.prisma, ctx.caller, dagId),
      dagRun: (dagRunId) => mayAccessDagRun(ctx.prisma, ctx.caller, dagRunId),
      backfill: (backfillId) => mayAccessBackfill(ctx.prisma, ctx.caller, backfillId),
    }),
    unauthorizedError: (_parent, ctx, info, result) => refusal(ctx.caller, `${info.parentType.name}.${info.fieldName}`, result.failure),
  },
  audit: {
    record: (ctx, entry) => recordAudit(ctx.prisma, { ...entry, caller: ctx.caller, clientAddress: ctx.clientAddress }),
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    // Every connection also passes `pageLimits` (limits.ts), which refuses a bigger page;
    // these are the plugin's own clamp, in case one does not.
    defaultConnectionSize: LIMITS.defaultPageSize,
    maxConnectionSize: LIMITS.maxPageSize,
  },
  relay: {
    // A connection's cost is its selection times the page it will fetch, whether `first`
    // is a literal or a variable; its edges list is that page, not another multiplier.
    defaultConnectionFieldOptions: { complexity: (args) => ({ field: 1, multiplier: pageSize(args) }) },
    edgesFieldOptions: { nullable: false, complexity: { field: 1, multiplier: 1 }, description: 'The items of this page, each with its cursor.' },
    nodeFieldOptions: { nullable: false, description: 'The item.' },
    cursorFieldOptions: { description: 'Where this item is in the list: pass it as `after` (or `before`) for the next (or previous) page.' },
    pageInfoFieldOptions: { description: 'Where this page is in the list.' },
    pageInfoTypeOptions: { description: 'Where a page is in its list (Relay’s cursor connections).' },
    hasNextPageFieldOptions: { description: 'Whether items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page.' },
    startCursorFieldOptions: { description: 'Cursor of the page’s first item; null for an empty page.' },
    endCursorFieldOptions: { description: 'Cursor of the page’s last item (`after` for the next page); null for an empty page.' },
    firstArgOptions: { description: `The first n items (after \`after\`): at most ${LIMITS.maxPageSize}; default ${LIMITS.defaultPageSize}.` },
    afterArgOptions: { description: 'Start after the item with this cursor.' },
    lastArgOptions: { description: `The last n items (before \`before\`): at most ${LIMITS.maxPageSize}.` },
    beforeArgOptions: { description: 'End before the item with this cursor.' },
  },
  complexity: {
    // Checked with the request's variables before the first root field resolves.
    limit: { complexity: LIMITS.maxComplexity },
    complexityError: (_kind, { complexity, maxComplexity }) =>
      limitExceeded(`Query cost ${complexity} exceeds the limit of ${maxComplexity} (a connection costs its selection times its page size)`),
  },
});

/**
 * UNAUTHENTICATED for a caller without a token (HTTP 401), FORBIDDEN otherwise, saying which
 * role or grant was missing.
 */
function refusal(caller: Caller, field: string, failure: AuthFailure): UpdraftError {
  if (caller.role === null) {
    return new UpdraftError('UNAUTHENTICATED', `${field} needs an API token: send "Authorization: Bearer <token>"`, {
      httpStatus: 401,
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  const reasons = failedScopes(failure).map(({ scope, parameter }) => {
    if (scope === 'role') return `needs the ${String(parameter)} role, and ${describeCaller(caller)} has the ${caller.role} role`;
    if (scope === 'dag') return `${describeCaller(caller)} has no grant on DAG "${String(parameter)}"`;
    if (scope === 'dagRun') return `${describeCaller(caller)} has no grant on the DAG of run ${String(parameter)}`;
    if (scope === 'backfill') return `${describeCaller(caller)} has no grant on the DAG of backfill ${String(parameter)}`;
    if (scope === 'everyDag') return `needs a token that is not limited to some DAGs`;
    return `needs the ${scope} scope`;
  });
  return new UpdraftError('FORBIDDEN', `${field}: ${reasons.length > 0 ? reasons.join('; ') : 'not allowed'}`);
}

function failedScopes(failure: AuthFailure): Array<{ scope: string; parameter: unknown }> {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [{ scope: failure.scope, parameter: failure.parameter }];
  if (failure.kind === AuthScopeFailureType.AllAuthScopes || failure.kind === AuthScopeFailureType.AnyAuthScopes) return failure.failures.flatMap(failedScopes);
  return [];
}
