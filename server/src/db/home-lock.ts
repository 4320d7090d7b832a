// A lock file that serialises processes starting (or adopting) the embedded PostgreSQL of one
// Updraft home. It is held only while resolving the database, not for the server's lifetime.
import fs from 'node:fs/promises';
import { isAlive, sleep } from './postgres-process.js';

export async function acquireHomeLock(file: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(file)) return () => fs.rm(file, { force: true });
    const holder = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && !isAlive(holder)) {
      // Left behind by a process that crashed while starting PostgreSQL.
      await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs / 1000} s waiting for process ${Number.isInteger(holder) ? holder : '(unknown)'} ` +
          `to finish starting the embedded PostgreSQL (lock file ${file}). If no such process is running, delete that file.`,
      );
    }
    await sleep(100);
  }
}

/** Creates `file` holding our pid, atomically: others never see it empty or half written. */
async function tryCreate(file: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(temp, String(process.pid));
  try {
    await fs.link(temp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.rm(temp, { force: true });
  }
}
