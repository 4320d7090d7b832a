// The grid's cells of finished runs, kept in memory: counting 10,000 mapped instances per run
// by state is most of a grid's cost, and a finished run's counts only change when an operator
// (or a retention pass) acts on it, which every writer announces on `updraft_run` with its
// COMMIT (live/notifications.ts). The cache hears those notifications over the process's one
// LISTEN connection (LiveUpdates.watch) and forgets a run as soon as one names it; after the
// connection was lost it forgets everything. It serves nothing until it listens.
import type { TaskInstanceState as State } from '../executor/states.js';
import type { LiveUpdates } from '../live/live-updates.js';

/** A task's instances per state in one run, in the order of TaskInstanceState. */
export type TaskCounts = Map<string, Array<{ state: State; count: number }>>;

/** Most (task, state) counts kept, over all runs; the least recently read runs go first. */
const MAX_COUNTS = 500_000;
/**
 * A run's counts are read again after this long even when no notification named it: a backstop
 * for changes made behind the platform's back (plain SQL), which notify nobody.
 */
const MAX_AGE_MS = 5 * 60_000;

interface Entry {
  at: number;
  counts: TaskCounts;
  size: number;
}

/** One read in progress: whether a change to one of its runs was heard since it started. */
interface Reading {
  runs: Set<number>;
  stale: Set<number>;
}

export class FinishedRunCells {
  private readonly runs = new Map<number, Entry>();
  private readonly readings = new Set<Reading>();
  private size = 0;
  private listening = false;

  constructor(live: LiveUpdates) {
    live
      .watch((event) => {
        if (event.kind === 'resync') this.clear();
        else if (event.kind === 'run') this.forget(event.n.run);
      })
      .then(
        () => (this.listening = true),
        () => undefined, // no database: the grid reads every time
      );
  }

  /** The counts of a finished run, if known. */
  get(runId: number): TaskCounts | undefined {
    if (!this.listening) return undefined;
    const entry = this.runs.get(runId);
    if (!entry) return undefined;
    if (Date.now() - entry.at > MAX_AGE_MS) {
      this.forget(runId);
      return undefined;
    }
    // Most recently read last: eviction starts from the front.
    this.runs.delete(runId);
    this.runs.set(runId, entry);
    return entry.counts;
  }

  /**
   * Starts reading the counts of these finished runs from the database. `store` keeps what was
   * read, unless a notification named the run since the read began (it may have read the
   * state before that change); `end` must be called when done.
   */
  begin(runIds: number[]): { store(runId: number, counts: TaskCounts): void; end(): void } {
    const reading: Reading = { runs: new Set(runIds), stale: new Set() };
    if (this.listening) this.readings.add(reading);
    return {
      store: (runId, counts) => {
        if (!this.listening || !this.readings.has(reading) || reading.stale.has(runId) || !reading.runs.has(runId)) return;
        this.forget(runId);
        let size = 0;
        for (const states of counts.values()) size += states.length;
        this.runs.set(runId, { at: Date.now(), counts, size });
        this.size += size;
        for (const [id, entry] of this.runs) {
          if (this.size <= MAX_COUNTS) break;
          this.runs.delete(id);
          this.size -= entry.size;
        }
      },
      end: () => void this.readings.delete(reading),
    };
  }

  private forget(runId: number): void {
    const entry = this.runs.get(runId);
    if (entry) {
      this.runs.delete(runId);
      this.size -= entry.size;
    }
    for (const reading of this.readings) if (reading.runs.has(runId)) reading.stale.add(runId);
  }

  private clear(): void {
    this.runs.clear();
    this.size = 0;
    for (const reading of this.readings) for (const id of reading.runs) reading.stale.add(id);
  }
}

const caches = new WeakMap<LiveUpdates, FinishedRunCells>();

/** The cache of this process's live updates (one per LiveUpdates). */
export function finishedRunCells(live: LiveUpdates): FinishedRunCells {
  let cache = caches.get(live);
  if (!cache) caches.set(live, (cache = new FinishedRunCells(live)));
  return cache;
}
