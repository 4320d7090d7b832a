import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type { Pool } from 'pg';
import type { Db } from '../db/prisma.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { LIMITS, limitExceeded, pageSize } from './limits.js';

/** Per-request context of the GraphQL API. */
export interface ApiContext {
  prisma: Db;
  /** For the hot-path SQL (triggering runs enqueues jobs in the same transaction). */
  pool: Pool;
}

export const builder = new SchemaBuilder<{
  Context: ApiContext;
  PrismaTypes: PrismaTypes;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
  };
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [ComplexityPlugin, PrismaPlugin, RelayPlugin],
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
    edgesFieldOptions: { nullable: false, complexity: { field: 1, multiplier: 1 } },
    nodeFieldOptions: { nullable: false },
  },
  complexity: {
    // Checked with the request's variables before the first root field resolves.
    limit: { complexity: LIMITS.maxComplexity },
    complexityError: (_kind, { complexity, maxComplexity }) =>
      limitExceeded(`Query cost ${complexity} exceeds the limit of ${maxComplexity} (a connection costs its selection times its page size)`),
  },
});
