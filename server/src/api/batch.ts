import type { GraphQLResolveInfo } from 'graphql';

// Per-request batching: resolvers of the same field under a list (a page of DAGs each asking
// for its runs) call `batch` once per parent in the same tick; one `load` call then answers
// them all, so a field costs the same number of SQL statements for one parent or a thousand.

interface Pending<K, V> {
  keys: K[];
  waiters: Array<{ resolve: (value: V) => void; reject: (error: unknown) => void }>;
}

// One map of pending batches per request context (the context object lives as long as the request).
const pendingByContext = new WeakMap<object, Map<string, Pending<unknown, unknown>>>();

/**
 * Queues `key` in the batch `name` of this request and resolves with its value once the batch
 * has been loaded. `load` gets the distinct keys of the batch, in the order they were queued,
 * and returns one value per key (same order). Calls with the same `name` share a batch: put
 * every argument that changes the query (page size, filters) into `name`.
 */
export function batch<K, V>(context: object, name: string, key: K, load: (keys: K[]) => Promise<V[]>): Promise<V> {
  let pending = pendingByContext.get(context);
  if (!pending) pendingByContext.set(context, (pending = new Map()));
  let entry = pending.get(name) as Pending<K, V> | undefined;
  if (!entry) {
    const created: Pending<K, V> = { keys: [], waiters: [] };
    entry = created;
    pending.set(name, created as Pending<unknown, unknown>);
    // After the resolvers of this tick, and the promise jobs they queued, have run (every
    // sibling in the list has queued its key by then): DataLoader's schedule.
    void Promise.resolve().then(() =>
      process.nextTick(() => {
        pending.delete(name);
        void flush(created, load);
      }),
    );
  }
  const queued = entry;
  return new Promise<V>((resolve, reject) => {
    queued.keys.push(key);
    queued.waiters.push({ resolve, reject });
  });
}

async function flush<K, V>(entry: Pending<K, V>, load: (keys: K[]) => Promise<V[]>): Promise<void> {
  const distinct = [...new Map(entry.keys.map((key) => [keyOf(key), key])).values()];
  try {
    const values = await load(distinct);
    const byKey = new Map(distinct.map((key, i) => [keyOf(key), values[i]!]));
    entry.keys.forEach((key, i) => entry.waiters[i]!.resolve(byKey.get(keyOf(key))!));
  } catch (e) {
    for (const waiter of entry.waiters) waiter.reject(e);
  }
}

const keyOf = (key: unknown) => (typeof key === 'object' && key !== null ? JSON.stringify(key) : String(key));

/**
 * The field's place in the response without list indexes (`dags.edges.node.runs`): one per
 * field of the document, aliases apart. Its parents share one batch under that name.
 */
export function responsePath(info: GraphQLResolveInfo): string {
  const keys: string[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) {
    if (typeof p.key === 'string') keys.push(p.key);
  }
  return keys.reverse().join('.');
}
