import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** One statement as the client saw it: sent, answered, on which connection. */
export interface TracedQuery {
  label: string;
  client: number;
  sentAt: number;
  doneAt: number;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Records every statement sent by any pg.Client of this process (Prisma's adapter, our
 * pool and graphile-worker all use this pg) until stop(). Named statements are labelled
 * by name (`updraft_finish_try`, `get_job/graphile_worker`), others by their first words.
 */
export function traceQueries(): { queries: TracedQuery[]; stop(): void } {
  const queries: TracedQuery[] = [];
  const ids = new WeakMap<object, number>();
  let clients = 0;
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    if (!ids.has(this)) ids.set(this, ++clients);
    const entry: TracedQuery = { label: labelOf(args[0]), client: ids.get(this)!, sentAt: performance.now(), doneAt: NaN };
    queries.push(entry);
    const done = () => (entry.doneAt = performance.now());
    // pg.Pool#query passes a callback (as 2nd or 3rd argument); everything else awaits the promise.
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (...r: unknown[]) => unknown;
      args[last] = (...r: unknown[]) => {
        done();
        return callback(...r);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result instanceof Promise) result.then(done, done);
    return result;
  };
  return { queries, stop: () => void (proto.query = original) };
}

function labelOf(config: unknown): string {
  if (typeof config === 'string') return config.trim().split(/\s+/).slice(0, 2).join(' ');
  const c = config as { name?: string; text?: string };
  return c.name ?? (c.text ?? '?').trim().split(/\s+/).slice(0, 2).join(' ');
}
