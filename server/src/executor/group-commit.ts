import { isConnectionError } from '../errors.js';

interface Waiting<A, R> {
  item: A;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers a worker's statements that arrive together into one (a group commit). An item
 * that arrives while fewer than `maxInFlight` batches are running starts one at once (a
 * lone try pays no delay); items that arrive while they run wait and go together in the
 * next batch (at most `maxBatch`). A busy worker thus sends one statement or transaction
 * for many tries. The worker groups its claims (claim_task_instances.sql) and its tries'
 * finishes (transitions.ts finishTries: a wide join's row is then locked once per batch,
 * not once per try, and one COMMIT is flushed for all).
 *
 * A batch that fails for anything but a lost connection is split: each item is run alone,
 * so one try's unstorable result fails that try only. A lost connection fails every
 * item of the batch: their callers retry (db/retry.ts), and come back in a later batch.
 */
export class GroupCommit<A, R> {
  private readonly waiting: Array<Waiting<A, R>> = [];
  private inFlight = 0;

  constructor(
    /** Runs a batch; returns each item's result at its index. */
    private readonly run: (batch: A[]) => Promise<R[]>,
    private readonly opts: { maxInFlight: number; maxBatch: number },
  ) {}

  /** Runs `item` in the next batch. */
  add(item: A): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.next();
      });
    }
  }

  private async commit(batch: Array<Waiting<A, R>>): Promise<void> {
    try {
      const results = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (e) {
      if (batch.length === 1 || isConnectionError(e)) {
        for (const w of batch) w.reject(e);
        return;
      }
      await Promise.all(batch.map((w) => this.run([w.item]).then(([result]) => w.resolve(result!), w.reject)));
    }
  }
}
