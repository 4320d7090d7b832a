// Failed authentications, per client address, in this process's memory: how many a client
// may have before it is refused (429 RATE_LIMITED), and how often they are written to the
// audit log, so that a flood of bad tokens neither guesses its way in nor fills the table.

/** Limits on failed authentications; declared once with their defaults. */
export interface FailedAuthOptions {
  /** Failures a client may have in one window; the next request is refused until the window ends. Default 10. */
  maxFailures?: number;
  /** Length of a window. Default 60 s. */
  windowMs?: number;
  /** At most one audit row per client per this long; failures in between are counted into the next row. Default 1 s. */
  auditIntervalMs?: number;
  /** At most this many audit rows for failed authentications per second, all clients together. Default 20. */
  maxAuditRowsPerSecond?: number;
  /** Clients remembered at once (memory bound); the oldest are forgotten first. Default 10,000. */
  maxClients?: number;
  now?: () => number;
}

interface ClientRecord {
  windowStart: number;
  failures: number;
  lastAuditAt: number;
  /** Failures not yet written to the audit log. */
  unaudited: number;
}

/** The decision on one failure: whether to write an audit row now, covering how many failures. */
export interface FailureVerdict {
  audit: boolean;
  /** Failures the row stands for (this one and those since the client's last row). */
  attempts: number;
}

export class FailedAuthentications {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly auditIntervalMs: number;
  private readonly maxAuditRowsPerSecond: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly clients = new Map<string, ClientRecord>();
  private auditSecond = 0;
  private auditRowsThisSecond = 0;

  constructor(opts: FailedAuthOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.auditIntervalMs = opts.auditIntervalMs ?? 1_000;
    this.maxAuditRowsPerSecond = opts.maxAuditRowsPerSecond ?? 20;
    this.maxClients = opts.maxClients ?? 10_000;
    this.now = opts.now ?? Date.now;
    if (!(this.maxFailures >= 1) || !(this.windowMs > 0)) throw new TypeError('maxFailures must be at least 1 and windowMs positive');
  }

  /** Milliseconds until `client` may try again, or 0 when it may now. */
  retryAfterMs(client: string): number {
    const record = this.current(client);
    if (!record || record.failures < this.maxFailures) return 0;
    return record.windowStart + this.windowMs - this.now();
  }

  /** Counts a failure of `client` and says whether to audit it now. */
  recordFailure(client: string): FailureVerdict {
    const now = this.now();
    let record = this.current(client);
    if (!record) {
      record = { windowStart: now, failures: 0, lastAuditAt: -Infinity, unaudited: 0 };
      this.remember(client, record);
    }
    record.failures++;
    record.unaudited++;
    if (now - record.lastAuditAt < this.auditIntervalMs || !this.takeAuditSlot(now)) return { audit: false, attempts: record.unaudited };
    const attempts = record.unaudited;
    record.lastAuditAt = now;
    record.unaudited = 0;
    return { audit: true, attempts };
  }

  /** The client's record if its window is still open (a closed window starts afresh, keeping the audit pacing). */
  private current(client: string): ClientRecord | undefined {
    const record = this.clients.get(client);
    if (!record) return undefined;
    if (this.now() - record.windowStart >= this.windowMs) {
      record.windowStart = this.now();
      record.failures = 0;
    }
    return record;
  }

  private remember(client: string, record: ClientRecord) {
    if (this.clients.size >= this.maxClients) {
      const now = this.now();
      for (const [key, other] of this.clients) {
        if (now - other.windowStart >= this.windowMs) this.clients.delete(key);
      }
      // Still full: forget the oldest (a Map iterates in insertion order).
      while (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
    }
    this.clients.set(client, record);
  }

  private takeAuditSlot(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.auditSecond) {
      this.auditSecond = second;
      this.auditRowsThisSecond = 0;
    }
    if (this.auditRowsThisSecond >= this.maxAuditRowsPerSecond) return false;
    this.auditRowsThisSecond++;
    return true;
  }
}
