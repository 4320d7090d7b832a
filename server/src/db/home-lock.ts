// A lock file that serialises the processes sharing the embedded PostgreSQL of one Updraft
// home while they start, adopt, restart, hand over or stop it. It is held for those steps
// only, never for the server's lifetime. The file names its holder (pid and start time), so
// a lock left by a process that died, even one whose pid has been recycled since (e.g. after
// a container restart), is recognised as stale and removed.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { currentProcess, isRunning, type ProcessId, sleep } from './postgres-process.js';

/** Lock files this process holds right now. */
const held = new Set<string>();

export async function acquireHomeLock(file: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryCreate(file)) return async () => release(file);
    const holder = readHolder(file);
    if (holder && isStale(file, holder)) {
      // Left behind by a process that died while holding it.
      await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs / 1000} s waiting for process ${holder?.pid ?? '(unknown)'} to finish starting or ` +
          `stopping the embedded PostgreSQL (lock file ${file}). If no such process is running, delete that file.`,
      );
    }
    await sleep(50);
  }
}

/**
 * For `process.on('exit')` handlers, which cannot wait: tries for up to `timeoutMs` and
 * returns undefined if the lock stays taken (or if this process already holds it).
 */
export function acquireHomeLockSync(file: string, timeoutMs = 1_000): (() => void) | undefined {
  if (held.has(file)) return undefined;
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (tryCreate(file)) return () => release(file);
      const holder = readHolder(file);
      if (holder && isStale(file, holder)) {
        rmSync(file, { force: true });
        continue;
      }
    } catch {
      return undefined;
    }
    if (Date.now() > deadline) return undefined;
    Atomics.wait(pause, 0, 0, 20);
  }
}

function release(file: string): void {
  held.delete(file);
  rmSync(file, { force: true });
}

function isStale(file: string, holder: ProcessId): boolean {
  // Our own pid in a lock we do not hold: written by a former process with the same pid.
  if (holder.pid === process.pid) return !held.has(file);
  return !isRunning(holder);
}

function readHolder(file: string): ProcessId | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = text.trim().split(/\s+/);
  const parsed = Number.parseInt(pid ?? '', 10);
  return Number.isInteger(parsed) ? { pid: parsed, start: start || undefined } : undefined;
}

/** Creates `file` naming this process, atomically: others never see it empty or half written. */
function tryCreate(file: string): boolean {
  const me = currentProcess();
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(temp, `${me.pid} ${me.start ?? ''}\n`);
  try {
    linkSync(temp, file);
    held.add(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(temp, { force: true });
  }
}
