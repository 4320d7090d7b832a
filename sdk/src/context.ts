import { AsyncLocalStorage } from 'node:async_hooks';
import type { TaskContext } from './interfaces.js';

const storage = new AsyncLocalStorage<TaskContext>();

/** The context of the task that is running; throws outside a running task. */
export function context(): TaskContext {
  const current = storage.getStore();
  if (!current) {
    throw new Error('context() was called outside a running task: call it inside a task function.');
  }
  return current;
}

/** @internal Runs `fn` with `ctx` as the current task context. */
export function runWithContext<R>(ctx: TaskContext, fn: () => R): R {
  return storage.run(ctx, fn);
}
