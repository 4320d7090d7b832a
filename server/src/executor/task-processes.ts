import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { operatorStop } from './stop.js';
import type { SecretReply, SecretRequest } from './task-secrets.js';
import { thrownOutcome, type LogLine, type TryOutcome } from './transitions.js';
import type { ArgPayload, EncodedValue } from '../xcom/codec.cjs';

const CHILD = fileURLToPath(new URL('./task-process.cjs', import.meta.url));
const PAGE_BYTES = 4096;
const MEMORY_CHECK_MS = 250;
const STDERR_LINES_KEPT = 20;

/** What a try needs from its worker; plain data, since it crosses into the task's process. */
export interface IsolatedTry {
  tryId: string;
  bundleFile: string;
  fileName: string;
  dagId: string;
  taskId: string;
  /** Encoded as stored: the task's process decodes them (xcom/codec.cjs), the worker never has to. */
  args: ArgPayload[];
  /** The task context without `log` and `signal`, which the task's process makes; its dates as ISO text. */
  context: Record<string, unknown> & { logicalDate: string; dataIntervalStart: string; dataIntervalEnd: string };
  timeoutMs: number | null;
  memoryLimitMb: number;
  /** A larger return value fails the try in its process (`ResultNotStorable`), before it travels. */
  maxResultBytes: number;
  /** Run this callback instead of the task: a task callback, or the DAG's run callback for `runState`. */
  callback?: { name: string; error?: { name: string; message: string } } | { runState: 'success' | 'failed' };
  /**
   * Aborted when the worker gives up on running tries (shutdown: the try ends `WorkerShutdown`),
   * or when an operator stops it (its reason is a `RunCancelled` or `TaskMarked`, see stop.ts).
   */
  interrupt: AbortSignal;
  onLog(line: Pick<LogLine, 'level' | 'message' | 'fields'>): void;
  /** Answers the task's `variable()` / `connection()` (task-secrets.ts), a request as the task's process sent it (checked there); never rejects. */
  lookup(request: unknown): Promise<SecretReply>;
  /**
   * Masks what this try's process prints once the try is over (a leaked promise), which goes
   * to the worker's warnings, not to the try: with the secrets this try read.
   */
  mask(text: string): string;
}

export interface TaskProcessOptions {
  /** Most processes kept, busy or idle: the worker's concurrency. */
  max: number;
  /** After a timeout or an interruption aborts a task's signal, how long it may take to return before it is killed. */
  killGraceMs: number;
  /** Environment of the task processes (see taskEnvironment()). */
  env: NodeJS.ProcessEnv;
  onWarning?: (message: string) => void;
}

interface TaskProcess {
  child: ChildProcess;
  /** Processes serve one bundle and one memory limit for their whole life. */
  key: string;
  memoryLimitMb: number;
  lastUsed: number;
  stderr: string[];
  /** The try it is running: where its messages, output and exit go. */
  running: RunningTry | null;
  /** Set when the process was killed for its memory use. */
  overMemory: boolean;
  exited: Promise<Exit>;
  /** The masker of the last try it ran, for what it prints between tries. */
  mask: (text: string) => string;
}

interface RunningTry {
  tryId: string;
  onMessage(message: ChildMessage): void;
  onOutput(level: LogLine['level'], line: string): void;
  onExit(exit: Exit): void;
}

type Exit = { type: 'exit'; code: number | null; signal: NodeJS.Signals | null };

/**
 * A pool of long-lived child processes that run isolated tries, one at a time each. A
 * process stays warm for the next try of the same bundle; whatever a try does to its
 * process (exit, crash, run away with CPU or memory) ends that process only, and the try
 * is recorded with the reason.
 */
export class TaskProcessPool {
  readonly #processes = new Set<TaskProcess>();
  #memoryCheck: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly opts: TaskProcessOptions) {}

  /** Runs one try in a task process and returns its outcome; never throws for anything the task does. */
  async run(t: IsolatedTry): Promise<TryOutcome> {
    if (this.#closed) throw new Error('the task process pool is closed');
    const proc = this.#acquire(`${t.bundleFile}\0${t.memoryLimitMb}`, t.memoryLimitMb);
    let ended: 'timeout' | 'interrupted' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const abort = (why: 'timeout' | 'interrupted', reasonName: string, reason: string) => {
      if (ended) return;
      ended = why;
      proc.child.send({ type: 'abort', tryId: t.tryId, reasonName, reason }, () => undefined);
      killTimer = setTimeout(() => proc.child.kill('SIGKILL'), this.opts.killGraceMs);
    };
    const timeoutTimer =
      t.timeoutMs === null ? undefined : setTimeout(() => abort('timeout', 'TaskTimeout', `the task ran longer than its timeout of ${t.timeoutMs} ms`), t.timeoutMs);
    const onInterrupt = () => {
      const stop = operatorStop(t.interrupt);
      abort('interrupted', stop?.name ?? 'WorkerShutdown', stop?.message ?? 'the worker is shutting down');
    };
    if (t.interrupt.aborted) onInterrupt();
    else t.interrupt.addEventListener('abort', onInterrupt, { once: true });
    proc.stderr.length = 0;
    proc.mask = t.mask;
    try {
      const result = await new Promise<ChildResult | Exit>((resolve) => {
        proc.running = {
          tryId: t.tryId,
          onMessage: (message) => {
            if (message.type === 'log') t.onLog({ level: message.level, message: message.message, fields: message.fields });
            else if (message.type === 'lookup') {
              void t.lookup({ kind: message.kind, name: message.name, secretFields: message.secretFields }).then((reply) => proc.child.send({ type: 'lookup_reply', requestId: message.requestId, reply }, () => undefined));
            } else resolve(message);
          },
          onOutput: (level, line) => t.onLog({ level, message: line, fields: undefined }),
          onExit: resolve,
        };
        proc.child.send(
          // Plain JSON crosses: arguments as their stored text (decoded in the task's process), the result goes back encoded, the logical date as ISO text.
          {
            type: 'run',
            tryId: t.tryId,
            bundleFile: t.bundleFile,
            fileName: t.fileName,
            dagId: t.dagId,
            taskId: t.taskId,
            args: t.args,
            context: t.context,
            maxResultBytes: t.maxResultBytes,
            callback: t.callback,
          },
          (error) => error && resolve({ type: 'exit', code: null, signal: null }),
        );
        this.#watchMemory();
      });
      return this.#outcome(t, proc, result, ended);
    } finally {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      t.interrupt.removeEventListener('abort', onInterrupt);
      proc.running = null;
      proc.lastUsed = Date.now();
      // A process whose try was aborted may still run leftovers of it: never reuse it.
      if (ended || !isRunning(proc.child)) void this.#discard(proc);
    }
  }

  /** Kills every task process (running tries end as their process exits). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#memoryCheck);
    await Promise.all([...this.#processes].map((proc) => this.#discard(proc)));
  }

  /** A try whose signal was aborted: stopped by an operator (not retried), or by a shutdown. */
  #interrupted(t: IsolatedTry, detail: string): TryOutcome {
    const stop = operatorStop(t.interrupt);
    if (stop) return { kind: 'failed', error: { name: stop.name, message: `${stop.message}${detail}` }, retryable: false };
    return { ...failure('WorkerShutdown', `the worker shut down while the try was running${detail}`), interrupted: true };
  }

  #outcome(t: IsolatedTry, proc: TaskProcess, result: ChildResult | Exit, ended: 'timeout' | 'interrupted' | null): TryOutcome {
    const timeout = () => failure('TaskTimeout', `the task ran longer than its timeout of ${t.timeoutMs} ms${result.type === 'exit' ? ` and was killed ${this.opts.killGraceMs} ms after its signal was aborted` : ''}`);
    if (result.type === 'result') {
      // A try that ran past its timeout is never a success, even if it returned in its grace period.
      if (ended === 'timeout') return timeout();
      if (result.ok) return { kind: 'success', value: result.value };
      if (ended === 'interrupted') return this.#interrupted(t, `: ${result.error.message}`);
      return thrownOutcome(result.error, result.error.retryable);
    }
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const stderr = proc.stderr.length > 0 ? `; its last output:\n${proc.stderr.join('\n')}` : '';
    if (ended === 'timeout') return timeout();
    if (ended === 'interrupted') return this.#interrupted(t, `; the task's process ${how}`);
    if (proc.overMemory || proc.stderr.some((line) => /heap out of memory|Reached heap limit/.test(line))) {
      return failure('MemoryLimit', `the task's process went over its memory limit of ${t.memoryLimitMb} MB and was stopped`);
    }
    return failure('TaskCrashed', `the task's process ${how} while running the task${stderr}`);
  }

  /**
   * The V8 heap is capped by --max-old-space-size; this also catches Buffers and native
   * memory: a busy process whose RSS passes twice its limit is killed. One timer for the
   * pool, running while any process is busy.
   */
  #watchMemory(): void {
    if (this.#memoryCheck) return;
    this.#memoryCheck = setInterval(() => {
      let busy = 0;
      for (const proc of this.#processes) {
        if (!proc.running) continue;
        busy++;
        if (rssMb(proc.child.pid) > proc.memoryLimitMb * 2) {
          proc.overMemory = true;
          proc.child.kill('SIGKILL');
        }
      }
      if (busy === 0) {
        clearInterval(this.#memoryCheck);
        this.#memoryCheck = undefined;
      }
    }, MEMORY_CHECK_MS);
    this.#memoryCheck.unref();
  }

  #acquire(key: string, memoryLimitMb: number): TaskProcess {
    let chosen: TaskProcess | undefined;
    for (const proc of this.#processes) if (!proc.running && proc.key === key && isRunning(proc.child)) chosen = proc;
    if (!chosen) {
      if (this.#processes.size >= this.opts.max) {
        const idle = [...this.#processes].filter((p) => !p.running).sort((a, b) => a.lastUsed - b.lastUsed)[0];
        if (idle) void this.#discard(idle);
      }
      chosen = this.#spawn(key, memoryLimitMb);
    }
    return chosen;
  }

  #spawn(key: string, memoryLimitMb: number): TaskProcess {
    const child = fork(CHILD, [String(process.pid)], {
      // Not the worker's own flags (its TypeScript loader): task code is a plain bundle.
      execArgv: [`--max-old-space-size=${Math.max(16, Math.floor(memoryLimitMb))}`, '--enable-source-maps'],
      env: this.opts.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const exited = new Promise<Exit>((resolve) => {
      // 'close', not 'exit': V8's out-of-memory report must be read from stderr first.
      child.once('close', (code, signal) => resolve({ type: 'exit', code, signal }));
      child.once('error', () => resolve({ type: 'exit', code: null, signal: null }));
    });
    const proc: TaskProcess = { child, key, memoryLimitMb, lastUsed: Date.now(), stderr: [], running: null, overMemory: false, exited, mask: (text) => text };
    this.#processes.add(proc);
    void exited.then((exit) => {
      this.#processes.delete(proc);
      proc.running?.onExit(exit);
    });
    child.on('message', (message: ChildMessage) => {
      if (proc.running && message.tryId === proc.running.tryId) proc.running.onMessage(message);
      // Lines logged between tries (a leaked promise rejecting after its try returned), which
      // may arrive before this side has seen the try end.
      else if (message.type === 'log') this.opts.onWarning?.(`task process ${child.pid}: ${proc.mask(message.message)}`);
      // Code left over from a try that has ended asks for a secret: refused, so that it does not wait forever.
      else if (message.type === 'lookup') {
        const reply: SecretReply = { ok: false, error: { name: 'Error', message: `${message.kind}() was called after its try had ended` } };
        child.send({ type: 'lookup_reply', requestId: message.requestId, reply }, () => undefined);
      }
    });
    // Output that bypasses console.* (process.stdout.write, native code, V8's fatal errors):
    // kept for a crash report, and logged with the try that is running.
    for (const [stream, level] of [[child.stdout, 'info'], [child.stderr, 'warn']] as const) {
      stream?.setEncoding('utf8');
      let pending = '';
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          if (level === 'warn') {
            proc.stderr.push(line);
            if (proc.stderr.length > STDERR_LINES_KEPT) proc.stderr.shift();
          }
          if (proc.running) proc.running.onOutput(level, line);
          else this.opts.onWarning?.(`task process ${child.pid}: ${proc.mask(line)}`);
        }
      });
    }
    return proc;
  }

  #discard(proc: TaskProcess): Promise<unknown> {
    this.#processes.delete(proc);
    if (isRunning(proc.child)) proc.child.kill('SIGKILL');
    return proc.exited;
  }
}

type ChildResult =
  | { type: 'result'; tryId: string; ok: true; value: EncodedValue | undefined }
  | { type: 'result'; tryId: string; ok: false; error: { name: string; message: string; stack?: string; retryable: boolean } };

type ChildMessage =
  | ChildResult
  | { type: 'log'; tryId: string | null; level: LogLine['level']; message: string; fields?: Record<string, unknown> }
  | { type: 'lookup'; tryId: string; requestId: number; kind: SecretRequest['kind']; name: string; secretFields?: unknown };

function failure(name: string, message: string): Extract<TryOutcome, { kind: 'failed' }> {
  return { kind: 'failed', error: { name, message }, retryable: true };
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function rssMb(pid: number | undefined): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return (pages * PAGE_BYTES) / 1024 / 1024;
  } catch {
    return 0; // gone, or no /proc: the V8 heap cap still applies
  }
}
