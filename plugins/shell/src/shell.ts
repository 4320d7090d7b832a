// The shell operator (Airflow's BashOperator): runs a command in its own process group, streams
// its output into the task log line by line, fails with its exit code, and ends the whole group
// (children and grandchildren included) on timeout, on the try's abort, or when it exits.
import { spawn } from 'node:child_process';
import { DURATION_PATTERN, defineOperator, SkipError, toMilliseconds, type TaskContext } from '@updraft/sdk';
import { z } from 'zod';
import { OutputLines } from './output.js';
import { render, shellQuote } from './templates.js';

/** The command exited with a code other than 0 (and other than `skipExitCode`). */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(
    message: string,
    /** The exit code, or null when a signal ended it. */
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** The command ran longer than its `timeout` and its process group was killed. */
export class CommandTimedOut extends Error {
  override name = 'CommandTimedOut';
}

const duration = z.union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'a duration such as "30s", "5m" or a number of milliseconds')]);

/** The shell operator's params. */
export const ShellParams = z.strictObject({
  /**
   * An argv array (`['pg_dump', '-f', '{{ params.file }}']`: run directly, each element one
   * argument whatever it holds), or a shell script run by `/bin/sh -c`. `{{ conf.x }}`,
   * `{{ params.x }}`, `{{ ds }}`, `{{ runId }}`… are replaced by their values, quoted as one
   * word in a script.
   */
  command: z.union([z.array(z.string()).min(1, 'an argv array needs at least the program'), z.string().min(1, 'a shell script cannot be empty')]),
  /** For a script: its positional arguments (`"$1"`, `"$@"`), handed over as argv (`{{ … }}` rendered), never parsed as shell code. */
  args: z.array(z.string()).optional(),
  /** Variables added to (or replacing) the task's environment; values may use `{{ … }}` too. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name: letters, digits and _'), z.string()).optional(),
  /** Working directory. Default: the task process's. */
  cwd: z.string().min(1).optional(),
  /** Kill the command's process group after this long and fail. No default (the task's own `timeout` also applies). */
  timeout: duration.optional(),
  /** After SIGTERM, how long the group gets before SIGKILL. Default `"5s"`. */
  killGrace: duration.default('5s'),
  /** What the node publishes: the last line of stdout (default), all of stdout, stdout parsed as JSON, or nothing. */
  output: z.enum(['last_line', 'stdout', 'json', 'none']).default('last_line'),
  /** Most bytes of stdout kept for `output: 'stdout' | 'json'`; more fails the task. Default 1 MiB. */
  maxOutputBytes: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024),
  /** Most bytes of output written to the task log; the rest is counted, not logged. Default 4 MiB. */
  maxLogBytes: z.number().int().nonnegative().max(256 * 1024 * 1024).default(4 * 1024 * 1024),
  /** An exit with this code ends the task `skipped` (Airflow's default is 99); null: never. */
  skipExitCode: z.number().int().min(0).max(255).nullable().default(99),
});

/** What a DAG passes to a shell node. */
export type ShellParams = z.input<typeof ShellParams>;

/**
 * Runs a command. Its stdout and stderr go to the task log as they are written; a non-zero
 * exit fails the task with `CommandFailed` (and the code); its value is the last line of stdout.
 *
 * ```ts
 * const dump = shell({ id: 'dump', retries: 2 });
 * dump({ command: ['pg_dump', '--file', 'out/{{ ds }}.sql', '{{ params.database }}'], timeout: '1h' });
 * ```
 */
export const shell = defineOperator({
  name: 'shell',
  description: 'Runs a command (argv or shell script) in its own process group; output streamed to the task log.',
  params: ShellParams,
  run: (params, ctx) => runCommand(params, ctx),
});

async function runCommand(params: z.output<typeof ShellParams>, ctx: TaskContext): Promise<unknown> {
  const where = `task "${ctx.taskId}"`;
  const [file, ...argv] =
    typeof params.command === 'string'
      ? ['/bin/sh', '-c', render(params.command, ctx, `${where}: command`, shellQuote), 'sh', ...(params.args ?? []).map((arg, i) => render(arg, ctx, `${where}: args[${i}]`))]
      : params.command.map((part, i) => render(part, ctx, `${where}: command[${i}]`));
  const env = { ...process.env };
  for (const [name, value] of Object.entries(params.env ?? {})) env[name] = render(value, ctx, `${where}: env.${name}`);
  const cwd = params.cwd === undefined ? undefined : render(params.cwd, ctx, `${where}: cwd`);

  const output = new OutputLines((line, stream) => ctx.log.info(line, { stream }), params.maxLogBytes, params.output === 'stdout' || params.output === 'json' ? params.maxOutputBytes : 0);
  const ended = await run(file!, argv, { cwd, env, timeoutMs: params.timeout === undefined ? undefined : toMilliseconds(params.timeout), killGraceMs: toMilliseconds(params.killGrace), signal: ctx.signal, output });
  if (output.droppedBytes > 0) ctx.log.warn(`[${output.droppedBytes} bytes of output not logged: past maxLogBytes (${params.maxLogBytes})]`);

  const shown = typeof params.command === 'string' ? 'the shell script' : JSON.stringify(params.command[0]);
  if (ended.timedOut) throw new CommandTimedOut(`${where}: ${shown} ran longer than its timeout (${params.timeout}); its process group was killed`);
  if (ended.aborted) throw new CommandFailed(`${where}: ${shown} was stopped because the try was aborted (${ctx.signal.reason ?? 'timeout or shutdown'})`, ended.code);
  if (ended.error) throw new CommandFailed(`${where}: ${shown} could not be started: ${ended.error.message}`, null);
  if (ended.code !== null && ended.code === params.skipExitCode) throw new SkipError(`${where}: ${shown} exited with code ${ended.code} (skipExitCode)`);
  if (ended.code !== 0) {
    const how = ended.code === null ? `was killed by ${ended.signal}` : `exited with code ${ended.code}`;
    throw new CommandFailed(`${where}: ${shown} ${how}${output.lastLine ? ` (last line: ${output.lastLine.slice(0, 500)})` : ''}`, ended.code);
  }
  switch (params.output) {
    case 'none':
      return null;
    case 'last_line':
      return output.lastLine;
    case 'stdout':
    case 'json': {
      const text = output.stdout;
      if (text === null) throw new CommandFailed(`${where}: stdout is longer than maxOutputBytes (${params.maxOutputBytes}); write it to a file, or raise maxOutputBytes`, 0);
      if (params.output === 'stdout') return text;
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new CommandFailed(`${where}: output 'json' but stdout is not JSON: ${(e as Error).message}`, 0);
      }
    }
  }
}

/** Process groups of the commands running in this process: killed if it exits first (one listener for all). */
const runningGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of runningGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ended already
    }
  }
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  error?: Error;
}

/** Runs `file` in a new process group and waits until it exits and its output has been read. */
function run(
  file: string,
  argv: string[],
  options: { cwd: string | undefined; env: NodeJS.ProcessEnv; timeoutMs: number | undefined; killGraceMs: number; signal: AbortSignal; output: OutputLines },
): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const group = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // the group has ended already
      }
    };
    const stop = () => {
      group('SIGTERM');
      killTimer ??= setTimeout(() => group('SIGKILL'), options.killGraceMs);
    };
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stop()), options.timeoutMs);
    const onAbort = () => ((aborted = true), stop());
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    if (child.pid !== undefined) runningGroups.add(child.pid);

    const flushOut = options.output.follow(child.stdout!, 'stdout');
    const flushErr = options.output.follow(child.stderr!, 'stderr');
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let closed = false;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) runningGroups.delete(child.pid);
      // What the command left running in its group (a background job) ends with it.
      group('SIGKILL');
      flushOut();
      flushErr();
      resolve({ code: exited?.code ?? null, signal: exited?.signal ?? null, timedOut, aborted, ...(error ? { error } : {}) });
    };
    child.on('error', (error) => {
      if (!closed) (closed = true), finish(error);
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // Output still in the pipes is read until they close; a background job holding them open gets a second.
      setTimeout(() => {
        if (!closed) (closed = true), finish();
      }, 1_000).unref();
    });
    child.on('close', () => {
      if (!closed && exited) (closed = true), finish();
    });
  });
}
