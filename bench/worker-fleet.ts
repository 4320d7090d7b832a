// Updraft workers in processes of their own (bench/worker-process.ts): the fan-out's workers,
// whose memory is theirs alone (the footprint figures), and the scale-out's 1, 2 and 4.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Cleanup } from './cleanup.js';
import { within } from './wait.js';

export interface Fleet {
  pids: number[];
  /** Resolves with the run's end state when a worker finished the try that ended it. */
  runEnded(dagRunId: number, timeoutMs: number): Promise<string>;
  /** The workers' resident memory now, MB: each main process alone, and with its task processes. */
  rss(): { main: number[]; tree: number[] };
  stop(): Promise<void>;
}

/** Starts `count` worker processes on `databaseUrl` at `concurrency` each; resolves once all take jobs. */
export async function startFleet(count: number, opts: { databaseUrl: string; cacheDir: string; concurrency: number }, cleanup: Cleanup): Promise<Fleet> {
  const children: ChildProcess[] = [];
  const ended = new Map<number, string>();
  const waiters = new Map<number, (state: string) => void>();
  const stopAll = cleanup.defer(`stop ${count} bench worker process(es)`, async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 35_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (child.connected) child.send({ kind: 'stop' });
            else child.kill('SIGTERM');
          }),
      ),
    );
  });
  const ready: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(path.join(import.meta.dirname, 'worker-process.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, DATABASE_URL: opts.databaseUrl, UPDRAFT_BENCH_CACHE_DIR: opts.cacheDir, UPDRAFT_BENCH_CONCURRENCY: String(opts.concurrency) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    ready.push(
      new Promise<void>((resolve, reject) => {
        child.once('exit', (code, signal) => reject(new Error(`bench worker process ${child.pid} exited (${code ?? signal}) before it was ready`)));
        child.on('message', (m: { kind: string; dagRunId?: number; state?: string }) => {
          if (m.kind === 'ready') resolve();
          if (m.kind === 'runEnded' && m.dagRunId !== undefined && m.state) {
            ended.set(m.dagRunId, m.state);
            waiters.get(m.dagRunId)?.(m.state);
          }
        });
      }),
    );
  }
  await within(Promise.all(ready), 120_000, `${count} bench worker process(es) were not ready`);
  return {
    pids: children.map((c) => c.pid!),
    runEnded: (dagRunId, timeoutMs) =>
      within(
        new Promise<string>((resolve) => {
          waiters.set(dagRunId, resolve);
          const state = ended.get(dagRunId);
          if (state) resolve(state);
        }),
        timeoutMs,
        `run ${dagRunId} did not end`,
      ),
    rss: () => ({ main: children.map((c) => rssMb(c.pid!)), tree: children.map((c) => treeRssMb(c.pid!)) }),
    stop: stopAll,
  };
}

/** VmRSS of a process, MB (0 once it is gone). */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS of a process and all its descendants, MB (shared pages counted in each). */
export function treeRssMb(pid: number): number {
  let total = rssMb(pid);
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // gone
  }
  for (const child of children) total += treeRssMb(Number(child));
  return total;
}

/** Samples `read` every `everyMs` until stopped; returns the largest value seen. */
export function samplePeak(read: () => number, everyMs = 100): { stop(): number } {
  let peak = read();
  const timer = setInterval(() => (peak = Math.max(peak, read())), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}
