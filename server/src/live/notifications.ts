// What PostgreSQL NOTIFY tells live subscribers, and how the writers produce it.
//
// Terminology:
// - a *notification* says what changed, never the data: subscribers read the rows anew;
// - `updraft_run`: a run's state or some of its task instances changed (one notification per
//   run per transaction, sent with the COMMIT: RunChanges, or by the single statement);
// - `updraft_log`: a batch of log lines of a try was written (the try and its seq range);
// - `updraft_dags`: the DAG list changed (deploy, pause, import errors; database triggers);
// - `updraft_asset`: asset events were queued for some DAG (record_asset_events.sql): the
//   schedulers look for asset-triggered runs to create (no payload).

/** The channels live updates LISTEN on. */
export const CHANNELS = { run: 'updraft_run', log: 'updraft_log', dags: 'updraft_dags', asset: 'updraft_asset' } as const;

/** A notification to send: PostgreSQL's `pg_notify(channel, payload)`. */
export interface Notification {
  channel: string;
  payload: string;
}

/** A task instance that changed: [id, task id, map index, state, try number]. */
export type InstanceChange = [id: string, taskId: string, mapIndex: number, state: string, tryNumber: number];

/** `updraft_run`: what changed in a run in one transaction. */
export interface RunNotification {
  run: number;
  /** The run's new state, when it changed. */
  state?: string;
  /** Changed task instances (as many as fit the payload). */
  tis: InstanceChange[];
  /** More task instances changed (or were created) than `tis` lists: read the run's instances anew. */
  more?: true;
}

/** `updraft_log`: log lines `from`…`to` (seq, inclusive) of try `try` were written. */
export interface LogNotification {
  try: string;
  from: number;
  to: number;
}

/** `updraft_dags`: these DAGs changed (null: some, unnamed), and/or import errors did. */
export interface DagsNotification {
  dags: string[] | null;
  importErrors: boolean;
}

/** PostgreSQL refuses payloads of 8000 bytes or more; keep clear of it. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** A transaction lists at most this many task instances of a run; past it, `more`. */
const MAX_LISTED = 100;

/**
 * The task instance and run changes of one transaction, announced in one notification per
 * run when it commits (db/transaction.ts sends them with the COMMIT, so announcing costs no
 * round trip). A statement that changes 10,000 instances adds at most MAX_LISTED of them
 * here; the notification then says `more`.
 */
export class RunChanges {
  private readonly runs = new Map<number, { state?: string; tis: Map<string, InstanceChange>; more: boolean }>();

  /** Task instances that moved to `state` (rows as the SQL statements return them). */
  instances(dagRunId: number, rows: ReadonlyArray<{ id: string; task_id: string; map_index?: number; try_number?: number }>, state: string): void {
    const run = this.of(dagRunId);
    for (const row of rows) {
      if (run.tis.size >= MAX_LISTED && !run.tis.has(row.id)) {
        run.more = true;
        return;
      }
      run.tis.set(row.id, [row.id, row.task_id, row.map_index ?? -1, state, row.try_number ?? 0]);
    }
  }

  /** Task instances changed or were created that are not listed (a mapped task's expansion). */
  more(dagRunId: number): void {
    this.of(dagRunId).more = true;
  }

  /** The run's state changed. */
  run(dagRunId: number, state: string): void {
    this.of(dagRunId).state = state;
  }

  /** One notification per run that changed. */
  notifications(): Notification[] {
    return [...this.runs].map(([run, { state, tis, more }]) => ({
      channel: CHANNELS.run,
      payload: encodeRunNotification({ run, ...(state ? { state } : {}), tis: [...tis.values()], ...(more ? { more: true } : {}) }),
    }));
  }

  private of(dagRunId: number) {
    let run = this.runs.get(dagRunId);
    if (!run) this.runs.set(dagRunId, (run = { tis: new Map(), more: false }));
    return run;
  }
}

/** A run notification as JSON of at most MAX_PAYLOAD_BYTES: instances that do not fit are left out, and it says `more`. */
export function encodeRunNotification(n: RunNotification): string {
  const text = JSON.stringify(n);
  if (Buffer.byteLength(text) <= MAX_PAYLOAD_BYTES) return text;
  const tis: InstanceChange[] = [];
  let bytes = Buffer.byteLength(JSON.stringify({ ...n, tis: [], more: true }));
  for (const ti of n.tis) {
    bytes += Buffer.byteLength(JSON.stringify(ti)) + 1;
    if (bytes > MAX_PAYLOAD_BYTES) break;
    tis.push(ti);
  }
  return JSON.stringify({ ...n, tis, more: true });
}

/** Reads an `updraft_run` payload; null when it is not one (anyone may NOTIFY a channel). */
export function parseRunNotification(payload: string): RunNotification | null {
  const n = parseObject(payload);
  if (!n || !Number.isSafeInteger(n['run']) || !Array.isArray(n['tis'])) return null;
  const tis = (n['tis'] as unknown[]).filter(
    (ti): ti is InstanceChange => Array.isArray(ti) && ti.length === 5 && typeof ti[0] === 'string' && typeof ti[1] === 'string' && typeof ti[3] === 'string',
  );
  return { run: n['run'] as number, ...(typeof n['state'] === 'string' ? { state: n['state'] } : {}), tis, ...(n['more'] === true || tis.length !== (n['tis'] as unknown[]).length ? { more: true as const } : {}) };
}

/** Reads an `updraft_log` payload; null when it is not one. */
export function parseLogNotification(payload: string): LogNotification | null {
  const n = parseObject(payload);
  if (!n || typeof n['try'] !== 'string' || !Number.isSafeInteger(n['from']) || !Number.isSafeInteger(n['to'])) return null;
  return { try: n['try'], from: n['from'] as number, to: n['to'] as number };
}

/** Reads an `updraft_dags` payload; anything unreadable counts as "some DAGs changed". */
export function parseDagsNotification(payload: string): DagsNotification {
  const n = parseObject(payload);
  const dags = n && Array.isArray(n['dags']) && n['dags'].every((d) => typeof d === 'string') ? (n['dags'] as string[]) : null;
  return { dags: n && n['dags'] === undefined ? [] : dags, importErrors: n?.['importErrors'] === true };
}

function parseObject(payload: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
