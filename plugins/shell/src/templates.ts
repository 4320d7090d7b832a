// `{{ conf.x }}`-style references to the running task's context, rendered into commands. A value
// that goes into a shell script is quoted for the shell, so that conf and params (which whoever
// triggers a run chooses) are always one plain word there, never code (Airflow's BashOperator
// injection CVEs came from rendering them raw into bash_command).
import type { TaskContext } from '@updraft/sdk';

const REFERENCE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;

/** `text` with each `{{ name.path }}` replaced by its value, quoted with `quote` (raw by default). */
export function render(text: string, ctx: TaskContext, where: string, quote: (value: string) => string = (v) => v): string {
  return text.replace(REFERENCE, (_match, reference: string) => quote(valueOf(reference, ctx, where)));
}

/** The names a command may refer to. */
function roots(ctx: TaskContext): Record<string, unknown> {
  const logicalDate = ctx.logicalDate.toISOString();
  return {
    conf: ctx.conf,
    params: ctx.params,
    dagId: ctx.dagId,
    runId: ctx.runId,
    taskId: ctx.taskId,
    mapIndex: ctx.mapIndex,
    tryNumber: ctx.tryNumber,
    logicalDate,
    ds: logicalDate.slice(0, 10),
  };
}

function valueOf(reference: string, ctx: TaskContext, where: string): string {
  const [root, ...path] = reference.split('.');
  let value: unknown = roots(ctx);
  for (const key of [root!, ...path]) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) {
      throw new TypeError(`${where}: {{ ${reference} }} refers to nothing (${key} is not set); known names: ${Object.keys(roots(ctx)).join(', ')}`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `value` as one single-quoted POSIX shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
