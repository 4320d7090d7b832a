import { createApi } from '../api/server.js';
import type { UpdraftConfig } from '../config.js';
import { openDatabase, type Database } from '../platform.js';
import { processSecretKey } from '../secrets/key.js';

/** Speaks GraphQL to a remote API (`--url`) or, in-process, to the local database. */
export interface ApiClient {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** The local database, when the client is not remote. */
  database: Database | null;
  close(): Promise<void>;
}

export class ApiError extends Error {
  override name = 'ApiError';
}

/**
 * A client of the API at `url` (sending `token` as a bearer token when given), or of the local
 * database in process, where the CLI acts as the local admin (it holds the database's
 * credentials anyway) and `token` is refused.
 */
export async function connectClient(config: UpdraftConfig, url: string | undefined, token?: string): Promise<ApiClient> {
  if (url) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    return { request: (query, variables) => post(fetch, url, query, variables, headers), database: null, close: async () => {} };
  }
  if (token) throw new ApiError('--token is for an API given with --url; on the local database the CLI needs no token');
  const secretKey = processSecretKey(config.home);
  const database = await openDatabase(config);
  const api = createApi({ prisma: database.prisma, pool: database.pool }, { lostWorkerTimeoutMs: config.lostWorkerTimeoutMs, secretKey });
  const handle = api.fetch as (url: string, init?: RequestInit) => Response | Promise<Response>;
  const local: typeof fetch = async (input, init) => handle(String(input), init);
  return { request: (query, variables) => post(local, 'http://local/graphql', query, variables), database, close: () => database.close() };
}

async function post<T>(fetchFn: typeof fetch, url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetchFn(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  } catch (e) {
    throw new ApiError(`Could not reach the Updraft API at ${url}: ${(e as Error).message}`);
  }
  const body = (await response.json().catch(() => null)) as { data?: T; errors?: Array<{ message: string }> } | null;
  if (!body) throw new ApiError(`The API at ${url} answered ${response.status} without a GraphQL response`);
  if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join('\n'));
  return body.data as T;
}
