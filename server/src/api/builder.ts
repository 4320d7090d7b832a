import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type { Pool } from 'pg';
import type { Db } from '../db/prisma.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';

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
  plugins: [PrismaPlugin, RelayPlugin],
  prisma: { client: (ctx) => ctx.prisma, dmmf: getDatamodel(), filterConnectionTotalCount: true },
  relay: { edgesFieldOptions: { nullable: false }, nodeFieldOptions: { nullable: false } },
});
