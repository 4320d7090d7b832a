import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RawDagStructure } from '@updraft/sdk';
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

/**
 * Loads the bundle in a child process and returns each file's DAG structures. DAG files
 * are user code: one that hangs, exits or crashes the process is reported as that file's
 * error and the remaining files are loaded in a fresh child.
 */
export async function extractStructures(
  bundle: { hash: string; code: string },
  fileNames: string[],
  opts: { cacheDir: string; timeoutMs?: number },
): Promise<Extracted[]> {
  const bundlePath = await writeBundleFile(opts.cacheDir, bundle);
  const results: Extracted[] = [];
  let remaining = fileNames;
  while (remaining.length > 0) {
    const { done, stuck } = await runChild(bundlePath, remaining, opts.timeoutMs ?? 30_000);
    results.push(...done);
    const finished = new Set(done.map((r) => r.fileName));
    if (stuck) {
      results.push(stuck);
      finished.add(stuck.fileName);
    }
    remaining = remaining.filter((f) => !finished.has(f));
  }
  return results;
}

function runChild(bundlePath: string, fileNames: string[], timeoutMs: number): Promise<{ done: Extracted[]; stuck: Extracted | null }> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [], { execArgv: ['--enable-source-maps'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const done: Extracted[] = [];
    let current: string | null = null;
    let stderr = '';
    let settled = false;
    const finish = (stuckMessage: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const stuckFile = current ?? fileNames.find((f) => !done.some((d) => d.fileName === f)) ?? null;
      resolve({ done, stuck: stuckMessage !== null && stuckFile ? { fileName: stuckFile, ok: false, message: stuckMessage } : null });
    };
    const timer = setTimeout(() => finish(`loading the file took longer than ${timeoutMs / 1000} s; DAG files must not block at import time`), timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('message', (message: ChildMessage) => {
      switch (message.kind) {
        case 'loading':
          current = message.fileName;
          break;
        case 'loaded':
          done.push({ fileName: message.fileName, ok: true, structures: message.structures });
          current = null;
          break;
        case 'failed':
          done.push({ fileName: message.fileName, ok: false, message: message.message });
          current = null;
          break;
        case 'fatal':
          for (const fileName of fileNames) done.push({ fileName, ok: false, message: message.message });
          finish(null);
          break;
        case 'done':
          finish(null);
          break;
      }
    });
    child.on('exit', (code, signal) => finish(`the process loading the file exited (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim()));
    child.send({ bundlePath, fileNames });
  });
}
