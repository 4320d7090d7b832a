import { isConnectionError } from '../errors.js';

/** Retries `fn` while the database is unreachable, backing off to 30 s, until `forced` is aborted. */
export async function retryWhileDatabaseFails<T>(fn: () => Promise<T>, forced: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || forced.aborted) throw e;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 30_000)));
    }
  }
}

