import type { Pool } from 'pg';
import { retryWhileDatabaseFails } from '../db/retry.js';
import { isConnectionError } from '../errors.js';
import { SecretMasker } from '../secrets/masking.js';
import { sql } from './sql.js';
import { DEFAULT_LOG_LIMITS, MAX_LOG_MESSAGE, type LogLimits } from './log-limits.js';
import { logColumns, type LogLine } from './transitions.js';
import { plainLogFields } from './log-fields.cjs';

export { DEFAULT_LOG_LIMITS, MAX_LOG_BYTES, MAX_LOG_LINES, type LogLimits } from './log-limits.js';

/** A line waits at most this long in the worker before it is written (while the try runs). */
export const LOG_FLUSH_INTERVAL_MS = 200;
/** This many lines waiting are written at once, without waiting for the interval. */
export const LOG_FLUSH_LINES = 500;
/** After a failed write, the next one waits this long, doubling up to LOG_RETRY_MAX_MS. */
const LOG_RETRY_MS = 500;
const LOG_RETRY_MAX_MS = 10_000;

/** A line as task code logs it; TryLog numbers it and makes it storable. */
export type LoggedLine = Pick<LogLine, 'level' | 'message' | 'fields'>;

/**
 * The log lines of one try, numbered (`seq`) and capped at MAX_LOG_LINES (then one marker
 * line says how many were dropped), and written while the try runs: in batches of one
 * INSERT each (append_try_logs.sql, which also notifies live subscribers), at most
 * LOG_FLUSH_INTERVAL_MS after a line was logged or as soon as LOG_FLUSH_LINES wait. Nothing
 * is written for a try that logs nothing, and what is still waiting when the try ends goes
 * with the finishing transaction (`settle`), so a short try pays no extra round trip.
 *
 * A write that fails (the database is away) keeps its lines for the next write or for the
 * finish, which retries until the database answers: losing the database never loses the
 * try's outcome, and a worker that dies loses only the lines since its last write.
 *
 * Every line is masked with the try's SecretMasker when it is logged. A line may quote a
 * secret the try reads only later (it had the value from elsewhere): when the masker learned
 * secrets after lines were written, `settle` masks the stored lines again (one read, one
 * update of the lines that change), so the finished try shows `***` wherever it may.
 */
export class TryLog {
  private pending: LogLine[] = [];
  private nextSeq = 0;
  private dropped = 0;
  private droppedBytes = 0;
  /** A cap was reached: every later line is dropped, so the log has no gap before its marker. */
  private full = false;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  /** Settled: the finish takes what waits; lines logged after it wait for `writeRest`. */
  private settled = false;
  /** The masker's size when the first line was written, and the seq of the next unwritten line. */
  private maskedWith: number | undefined;
  private writtenUpTo = 0;

  constructor(
    private readonly pool: Pool,
    private readonly tryId: string,
    private readonly masker: SecretMasker = new SecretMasker(),
    /** Hears each line as it is logged, masked (worker events). */
    private readonly onLine?: (line: LogLine) => void,
    private readonly limits: LogLimits = DEFAULT_LOG_LIMITS,
  ) {}

  /** Adds a line: numbered, NUL-free, its fields plain JSON; past a cap it is only counted. */
  add(line: LoggedLine): void {
    if (this.full || this.nextSeq >= this.limits.maxLines) {
      this.drop(line);
      return;
    }
    const fields = storableFields(line.fields);
    const fieldsJson = fields === undefined ? undefined : JSON.stringify(fields);
    const message = cut(String(line.message));
    const bytes = Buffer.byteLength(message) + (fieldsJson === undefined ? 0 : Buffer.byteLength(fieldsJson));
    if (this.bytes + bytes > this.limits.maxBytes) {
      this.drop(line);
      return;
    }
    this.bytes += bytes;
    const stored: LogLine = {
      seq: this.nextSeq++,
      level: line.level,
      message: this.masker.mask(withoutNul(message)),
      fields: fields === undefined ? undefined : this.masker.maskFields(fields),
      loggedAt: new Date(),
    };
    this.pending.push(stored);
    this.onLine?.(stored);
    if (this.settled) return;
    if (this.pending.length >= LOG_FLUSH_LINES) this.writeSoon(0);
    else this.writeSoon(LOG_FLUSH_INTERVAL_MS);
  }

  /** Past a cap, a line is only counted (its size roughly: the marker is a hint, and this must stay cheap). */
  private drop(line: LoggedLine): void {
    this.full = true;
    this.dropped++;
    this.droppedBytes += typeof line.message === 'string' ? line.message.length : 0;
  }

  /** The seq the next line would get (after the truncation marker, if any). */
  get seq(): number {
    return this.nextSeq;
  }

  /**
   * The try is about to be recorded: stops writing in the background, waits for a write
   * under way, masks written lines again if the masker learned secrets since, adds the
   * truncation marker when lines were dropped, and returns the lines that still wait (the
   * finishing transaction stores them), masked with every secret the try read.
   */
  async settle(forced: AbortSignal): Promise<LogLine[]> {
    this.settled = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.maskedWith !== undefined && this.masker.size > this.maskedWith) {
      await retryWhileDatabaseFails(() => this.maskWritten(), forced);
    }
    if (this.dropped > 0) {
      const { maxLines, maxBytes } = this.limits;
      const message = `[log truncated: ${this.dropped} more line(s) (~${formatBytes(this.droppedBytes)}) past the limit of ${maxLines} lines / ${formatBytes(maxBytes)} per try]`;
      this.pending.push({ seq: this.nextSeq++, level: 'warn', message, fields: { truncated: true, droppedLines: this.dropped }, loggedAt: new Date() });
      this.dropped = 0;
      this.droppedBytes = 0;
    }
    return this.take().map((line) => this.masked(line));
  }

  /** Lines logged after `settle` (a DAG callback's, once the try is recorded): written now, retried while the database is away. */
  async writeRest(forced: AbortSignal): Promise<void> {
    const lines = this.take();
    if (lines.length > 0) await retryWhileDatabaseFails(() => this.insert(lines), forced);
  }

  private masked(line: LogLine): LogLine {
    return { ...line, message: this.masker.mask(line.message), fields: line.fields && this.masker.maskFields(line.fields) };
  }

  /** Masks the lines written so far with what the masker knows now (see the class comment). */
  private async maskWritten(): Promise<void> {
    const rows = await sql<Pick<LogLine, 'seq' | 'message' | 'fields'>>(this.pool, 'select_try_log_text', [this.tryId, this.writtenUpTo]);
    const changed = rows.flatMap((line) => {
      const message = this.masker.mask(line.message);
      const fields = line.fields == null ? null : JSON.stringify(this.masker.maskFields(line.fields));
      return message === line.message && fields === (line.fields == null ? null : JSON.stringify(line.fields)) ? [] : [{ seq: line.seq, message, fields }];
    });
    if (changed.length > 0) await sql(this.pool, 'mask_try_logs', [this.tryId, changed.map((l) => l.seq), changed.map((l) => l.message), changed.map((l) => l.fields)]);
    this.maskedWith = this.masker.size;
  }

  private take(): LogLine[] {
    const lines = this.pending;
    this.pending = [];
    return lines;
  }

  private writeSoon(delayMs: number): void {
    if (this.writing) return; // the write under way schedules the next one
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.write().finally(() => {
        this.writing = undefined;
        if (this.settled || this.pending.length === 0) return;
        const backoff = this.failures === 0 ? 0 : Math.min(LOG_RETRY_MS * 2 ** (this.failures - 1), LOG_RETRY_MAX_MS);
        this.writeSoon(Math.max(backoff, this.pending.length >= LOG_FLUSH_LINES ? 0 : LOG_FLUSH_INTERVAL_MS));
      });
    }, delayMs);
  }

  private async write(): Promise<void> {
    const lines = this.take();
    if (lines.length === 0) return;
    try {
      await this.insert(lines);
      this.failures = 0;
    } catch (e) {
      // Kept, in order, for the next write or the finish. Anything but a lost connection
      // will fail the same way again: leave the lines to the finish, which handles it.
      this.pending = [...lines, ...this.pending];
      this.failures++;
      if (!isConnectionError(e)) this.settled = true;
    }
  }

  private async insert(lines: LogLine[]): Promise<void> {
    const notice = JSON.stringify({ try: this.tryId, from: lines[0]!.seq, to: lines.at(-1)!.seq });
    this.maskedWith ??= this.masker.size;
    await sql(this.pool, 'append_try_logs', [this.tryId, ...logColumns(lines), notice]);
    this.writtenUpTo = Math.max(this.writtenUpTo, lines.at(-1)!.seq + 1);
  }
}

/** A message past MAX_LOG_MESSAGE, cut (leaving room for the note a task process already added when it cut it). */
function cut(text: string): string {
  return text.length > MAX_LOG_MESSAGE + 64 ? `${text.slice(0, MAX_LOG_MESSAGE)}… [${text.length - MAX_LOG_MESSAGE} more characters cut]` : text;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}

/** PostgreSQL text cannot hold NUL characters. */
function withoutNul(text: string): string {
  return text.replaceAll('\0', '\uFFFD');
}

/** Log fields as plain JSON data (at most about 64 KB of them), decided when the line is logged (not when it is stored). */
function storableFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return plainLogFields(fields);
}
