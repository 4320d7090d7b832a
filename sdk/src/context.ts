import { AsyncLocalStorage } from 'node:async_hooks';
import type { TaskContext } from './interfaces.js';

const storage = new AsyncLocalStorage<TaskContext>();

/** The context of the task that is running; throws outside a running task. */
export function context(): TaskContext {
  return currentContext('context()');
}

/** @internal The running task's context; `what` (the caller, e.g. `variable()`) is named when there is none. */
export function currentContext(what: string): TaskContext {
  const current = storage.getStore();
  if (!current) {
    throw new Error(`${what} was called outside a running task: call it inside a task function.`);
  }
  return current;
}

/**
 * The running task's params (`context().params`), typed as you declare them, e.g.
 * `params<z.infer<typeof Params>>()` for the schema given to `dag({ params: Params })`.
 */
export function params<T extends Record<string, unknown> = Record<string, unknown>>(): Readonly<T> {
  return context().params as Readonly<T>;
}

/** @internal Runs `fn` with `ctx` as the current task context. */
export function runWithContext<R>(ctx: TaskContext, fn: () => R): R {
  return storage.run(ctx, fn);
}
