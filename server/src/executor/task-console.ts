import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { LogLine } from './transitions.js';

// console.* of `isolation: 'none'` task code goes with its try, as an isolated task's does
// (task-process.cjs), so that it is stored and masked like every other line of the try. The
// worker's console is patched once; calls outside a task's code (the worker's own) are
// untouched. Output written to process.stdout directly still goes to the worker's output.

type Line = Pick<LogLine, 'level' | 'message' | 'fields'>;

const current = new AsyncLocalStorage<(line: Line) => void>();
let installed = false;

const METHODS = [
  ['log', 'info'],
  ['info', 'info'],
  ['debug', 'debug'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['trace', 'debug'],
] as const;

/**
 * Runs `fn` (the worker's own work done on behalf of a task: reporting a line, reading a
 * variable) outside the task's console, so that its console output, and that of whatever it
 * starts (a database connection's later errors), is the worker's again.
 */
export function outsideTaskConsole<T>(fn: () => T): T {
  return current.exit(fn);
}

/** Runs `fn` so that what it (and whatever it starts) writes with console.* becomes lines of `log`. */
export function withTaskConsole<T>(log: (line: Line) => void, fn: () => T): T {
  if (!installed) {
    installed = true;
    for (const [method, level] of METHODS) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        const log = current.getStore();
        if (log) log({ level, message: format(...args), fields: undefined });
        else original.apply(console, args);
      };
    }
  }
  return current.run(log, fn);
}
