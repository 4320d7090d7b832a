// The urql client: graphcache normalizes entities by id, so a `dagRunUpdated` event that
// carries a run and its changed task instances updates every page showing them, with no
// refetch. Queries and subscriptions are POSTs with a JSON body to /graphql on this origin
// (the API refuses GET and forms); subscriptions read the answer as SSE.
import { Client, fetchExchange } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';

const TOKEN_KEY = 'updraft.token';

export function storedToken(): string | null {
  if (typeof window === 'undefined') return null;
  return window.localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
}

/** Types without an id of their own live inside their parent in the cache. */
const EMBEDDED = [
  'DagGrid',
  'DagGridRow',
  'DagGridCell',
  'DagGridMappedSlice',
  'DagGridInstance',
  'DagGridMapItem',
  'TaskStateCount',
  'TaskEdge',
  'TaskGroup',
  'ImportError',
  'TaskLog',
  'XCom',
  'PageInfo',
  'Me',
  'Health',
  'DagRunUpdate',
  'DagRunsUpdate',
  'TaskLogLinesUpdate',
  'DagListUpdate',
  'RunActionPayload',
  'TriggerDagRunPayload',
  'SetVariablePayload',
  'UpsertConnectionPayload',
  'DeleteVariablePayload',
  'DeleteConnectionPayload',
];

/** `Task` ids repeat across DAGs: a task is keyed by nothing and lives inside its DAG or version. */
const keys = Object.fromEntries([...EMBEDDED, 'Task'].map((name) => [name, () => null]));

export function createClient(onUnauthenticated: () => void): Client {
  const fetchOptions = (): RequestInit => {
    const token = storedToken();
    return { headers: token ? { authorization: `Bearer ${token}` } : {} };
  };
  return new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchSubscriptions: true,
    fetchOptions,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) onUnauthenticated();
      return response;
    },
    exchanges: [
      cacheExchange({
        // A run's task instances are read page after page as the list scrolls: one list.
        // The DAG list's pages likewise, one list per set of filters.
        resolvers: { DagRun: { taskInstances: relayPagination() }, Query: { dags: relayPagination() } },
        keys: {
          ...keys,
          // A variable's id is its key.
          AuditLog: (a) => (a.id as string) ?? null,
          Variable: (v) => (v.key as string) ?? null,
          Connection: (c) => (c.id as string) ?? null,
        },
      }),
      fetchExchange,
    ],
  });
}

/**
 * One query sent as the client sends them (POST, the token), without the cache: for data that
 * is read often and shown once, such as the grid's unfolded instances. Null when it failed.
 */
export async function postQuery<Data>(query: string, variables: Record<string, unknown>): Promise<Data | null> {
  const token = storedToken();
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  if (!response.ok) return null;
  const body = (await response.json()) as { data?: Data | null };
  return body.data ?? null;
}
