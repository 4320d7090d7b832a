import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RawDagStructure } from '@updraft/sdk';
import { taskEnvironment } from '../executor/task-environment.js';
import { writeBundleFile } from './cache.js';

export type Extracted =
  | { fileName: string; ok: true; structures: RawDagStructure[] }
  | { fileName: string; ok: false; message: string };

type ChildMessage =
  | { kind: 'loading'; fileName: string }
  | { kind: 'loaded'; fileName: string; structures: RawDagStructure[] }
  | { kind: 'failed'; fileName: string; message: string }
  | { kind: 'fatal'; message: string }
  | { kind: 'done' };

const CHILD = fileURLToPath(new URL('./extract-child.cjs', import.meta.url));

/** How long loading one DAG file (its imports and its DAG definitions) may take. */
export const DEFAULT_IMPORT_TIMEOUT_MS = 30_000;

export interface ExtractOptions {
  cacheDir: string;
  /**
   * Time limit of each file's load, on its own: a slow file is blamed for its own time
   * only, never for the time of the files loaded before it. Default 30 s.
   */
  importTimeoutMs?: number;
}

/**
 * Loads the bundle in a child process and returns each file's DAG structures. DAG files
 * are user code: one that hangs (longer than `importTimeoutMs`), exits or crashes the
 * process is reported as that file's error and the remaining files are loaded in a fresh
 * child.
 */
export async function extractStructures(bundle: { hash: string; code: string }, fileNames: string[], opts: ExtractOptions): Promise<Extracted[]> {
  const importTimeoutMs = opts.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS;
  if (!(importTimeoutMs > 0)) throw new Error(`importTimeoutMs must be more than 0, got ${importTimeoutMs}`);
  const results: Extracted[] = [];
  let remaining = fileNames;
  while (remaining.length > 0) {
    // Written (if missing) for every child: the cache may be cleaned while a hang times out.
    const bundlePath = await writeBundleFile(opts.cacheDir, bundle);
    const { done, stuck } = await runChild(bundlePath, remaining, importTimeoutMs);
    results.push(...done, ...stuck);
    const finished = new Set([...done, ...stuck].map((r) => r.fileName));
    remaining = remaining.filter((f) => !finished.has(f));
  }
  return results;
}

/**
 * One child loading `fileNames` in order. The time limit restarts at every file: the
 * child announces each file (`loading`) before requiring it, so a timeout always knows
 * which file is being loaded. `stuck` holds the file(s) blamed when the child hung or died.
 */
function runChild(bundlePath: string, fileNames: string[], timeoutMs: number): Promise<{ done: Extracted[]; stuck: Extracted[] }> {
  return new Promise((resolve) => {
    // DAG files are user code too: no database credentials in their environment.
    const child = fork(CHILD, [], { execArgv: ['--enable-source-maps'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: taskEnvironment(process.env.DATABASE_URL ?? '') });
    const done: Extracted[] = [];
    let current: string | null = null;
    let stderr = '';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const seconds = `${timeoutMs / 1000} s`;
    const notDone = () => fileNames.filter((f) => !done.some((d) => d.fileName === f));
    const finish = (stuck: Extracted[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ done, stuck });
    };
    /** The child died or hung in a file: blame the file it was loading (or, if none, the next one). */
    const blame = (message: (fileName: string) => string) => {
      const fileName = current ?? notDone()[0];
      finish(fileName ? [{ fileName, ok: false, message: message(fileName) }] : []);
    };
    const arm = (onTimeout: () => void) => {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, timeoutMs);
    };
    // Outside a file's load (before the first, between two, after the last) the child runs
    // no user code: the bundle loads each file lazily. A child stuck there (a machine far
    // too busy) fails the files not loaded yet rather than blaming one of them.
    const stalled = (what: string) => () => {
      const message = `the process loading the DAG files ${what}; this file was not loaded`;
      finish(notDone().map((fileName) => ({ fileName, ok: false, message })));
    };
    arm(stalled(`did not start within ${seconds}`));
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('message', (message: ChildMessage) => {
      switch (message.kind) {
        case 'loading':
          current = message.fileName;
          arm(() =>
            blame(
              (fileName) =>
                `${fileName}: loading the file took longer than the import time limit of ${seconds}; DAG files must not block at import time (do slow work inside tasks)`,
            ),
          );
          break;
        case 'loaded':
        case 'failed':
          done.push(
            message.kind === 'loaded'
              ? { fileName: message.fileName, ok: true, structures: message.structures }
              : { fileName: message.fileName, ok: false, message: message.message },
          );
          current = null;
          arm(stalled(`did not respond for ${seconds} after loading ${message.fileName}`));
          break;
        case 'fatal':
          finish(notDone().map((fileName) => ({ fileName, ok: false, message: message.message })));
          break;
        case 'done':
          finish([]);
          break;
      }
    });
    child.on('exit', (code, signal) => blame(() => `the process loading the file exited (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim()));
    child.send({ bundlePath, fileNames });
  });
}
