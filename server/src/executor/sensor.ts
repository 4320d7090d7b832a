import type { TaskKindStructure } from '../dags/structure.js';
import { truthy } from './flow.js';
import { outcomeValue, type TryOutcome } from './transitions.js';

type SensorKind = Extract<TaskKindStructure, { type: 'sensor' }>;

/**
 * Runs a sensor's checks (Airflow's BaseSensorOperator): `check` runs the user's function
 * once; a truthy value ends the try with it. Otherwise poke mode waits `intervalMs` and
 * checks again in the same try (keeping its slot); reschedule mode ends the try as
 * `rescheduled` with the time of its next check, freeing the slot. The sensor's timeout
 * counts from its first check (`firstCheckAt`, across reschedules): past it the try fails
 * without retry (`SensorTimeout`), or is skipped with `softFail`.
 */
export async function sense(
  kind: SensorKind,
  run: { firstCheckAt: Date; tryNumber: number; interrupt: AbortSignal; log: (message: string) => void },
  check: () => Promise<TryOutcome>,
): Promise<TryOutcome> {
  // Reschedules add tries: with backoff, each one doubles the wait before the next check.
  let intervalMs = kind.exponentialBackoff ? kind.intervalMs * 2 ** Math.min(run.tryNumber - 1, 30) : kind.intervalMs;
  for (;;) {
    const outcome = await check();
    if (outcome.kind !== 'success' || (outcome.value !== undefined && truthy(outcomeValue(outcome)))) return outcome;
    const elapsedMs = Date.now() - run.firstCheckAt.getTime();
    if (elapsedMs >= kind.timeoutMs) {
      const message = `the sensor's condition did not hold within its timeout of ${kind.timeoutMs} ms (first check ${run.firstCheckAt.toISOString()})`;
      return kind.softFail ? { kind: 'skipped', reason: message } : { kind: 'failed', error: { name: 'SensorTimeout', message }, retryable: false };
    }
    const waitMs = Math.min(intervalMs, kind.timeoutMs - elapsedMs);
    if (kind.mode === 'reschedule') {
      run.log(`not yet; next check in ${waitMs} ms (rescheduled)`);
      return { kind: 'rescheduled', nextCheckAt: new Date(Date.now() + waitMs) };
    }
    run.log(`not yet; next check in ${waitMs} ms`);
    if (!(await sleep(waitMs, run.interrupt))) {
      return { kind: 'failed', error: { name: 'WorkerShutdown', message: 'the worker shut down while the sensor waited' }, retryable: true, interrupted: true };
    }
    if (kind.exponentialBackoff) intervalMs *= 2;
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
