import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;

/**
 * A Prisma client over node-postgres (Prisma 7 needs no query engine binary with a driver
 * adapter). `onQuery` sees every SQL statement it sends, with its parameters (tests use it to catch
 * N+1 queries, the bench to explain them).
 */
export function createPrisma(url: string, opts: { onQuery?: (sql: string, params: unknown[]) => void } = {}): Db {
  const adapter = new PrismaPg({ connectionString: url });
  if (!opts.onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => opts.onQuery!(event.query, parseParams(event.params)));
  return client;
}

function parseParams(text: string): unknown[] {
  try {
    const params: unknown = JSON.parse(text);
    return Array.isArray(params) ? params : [];
  } catch {
    return [];
  }
}
