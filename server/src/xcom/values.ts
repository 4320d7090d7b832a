import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Pool } from 'pg';
import { coerceError } from '../errors.js';
import { decode, encode, formatBytes, type EncodedValue, type XComEncoding } from './codec.cjs';
import { LocalXComStore, XComBlobMissing, type XComStore } from './store.js';

/** Values up to this size (their text, in bytes) are stored in PostgreSQL; larger ones in the object store. */
export const XCOM_INLINE_MAX_BYTES = 64 * 1024;
/** Larger values fail their task (`ResultNotStorable`, naming the task and the size). */
export const XCOM_MAX_BYTES = 1024 * 1024 * 1024;
/** A blob written for a try that never recorded it (the worker died, the try ended elsewhere) is deleted this long after. */
const UNRECORDED_BLOB_GRACE = '1 hour';

/** Where XCom values go and how large they may be: a worker setting. */
export interface XComSettings {
  store: XComStore;
  /** Above this, a value goes to the store. Default 64 KB (UPDRAFT_XCOM_INLINE_MAX_BYTES). */
  inlineMaxBytes: number;
  /** Above this, the task fails. Default 1 GB (UPDRAFT_XCOM_MAX_BYTES). */
  maxBytes: number;
}

/** The default store of a home: `<home>/xcom`. */
export const defaultXComStore = (home: string) => new LocalXComStore(path.join(home, 'xcom'));

/** An XCom row's columns that say where and how its value is stored. */
export interface StoredXCom {
  encoding: XComEncoding;
  /** Plain JSON text (stored as jsonb) or null. */
  json: string | null;
  serialized: string | null;
  blob_key: string | null;
  blob_sha256: string | null;
  size_bytes: number;
}

/** An XCom value that cannot be read back: its blob is missing or damaged. Not retryable. */
export class XComUnreadable extends Error {
  override name = 'XComUnreadable';
}

/**
 * Stores an encoded value's text where it belongs: inline up to the threshold, else in the
 * object store, under a key that names the DAG, run, task and try. The blob is booked as a
 * tombstone due in an hour first; the finishing transaction that records the row removes
 * that tombstone, so a blob whose try never records it is swept later.
 */
export async function placeValue(
  pool: Pool,
  settings: XComSettings,
  encoded: EncodedValue,
  where: { dagId: string; dagRunId: number; taskId: string; mapIndex: number; tryId: string },
): Promise<StoredXCom> {
  if (encoded.bytes <= settings.inlineMaxBytes) {
    return { encoding: encoded.encoding, json: encoded.encoding === 'json' ? encoded.text : null, serialized: encoded.encoding === 'devalue' ? encoded.text : null, blob_key: null, blob_sha256: null, size_bytes: encoded.bytes };
  }
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const key = `${safe(where.dagId)}/${where.dagRunId}/${safe(where.taskId)}${where.mapIndex >= 0 ? `.${where.mapIndex}` : ''}/${where.tryId}-${randomUUID()}.${encoded.encoding}`;
  const data = Buffer.from(encoded.text);
  const sha256 = createHash('sha256').update(data).digest('hex');
  await pool.query(`INSERT INTO xcom_blob_tombstone (key, delete_after) VALUES ($1, now() + interval '${UNRECORDED_BLOB_GRACE}')`, [key]);
  await settings.store.put(key, data);
  return { encoding: encoded.encoding, json: null, serialized: null, blob_key: key, blob_sha256: sha256, size_bytes: encoded.bytes };
}

/** One item of a split list: plain JSON text or devalue text. */
export interface XComItem {
  json: string | null;
  serialized: string | null;
}

/**
 * A list's items, each encoded on its own, for a mapped task to map over when the list is
 * not inline plain JSON (PostgreSQL splits those itself). Undefined when the value is not a
 * list, or when an item is over the inline limit (mapping then fails, saying why).
 */
export function splitItems(encoded: EncodedValue, inlineMaxBytes: number): XComItem[] | undefined {
  const list = decode(encoded.encoding, encoded.text);
  if (!Array.isArray(list)) return undefined;
  const items: XComItem[] = [];
  for (const item of list) {
    const one = encode(item, 'an item', Math.max(inlineMaxBytes, 1));
    if (one.bytes > inlineMaxBytes) return undefined;
    items.push(one.encoding === 'json' ? { json: one.text, serialized: null } : { json: null, serialized: one.text });
  }
  return items;
}

/**
 * The text of a stored value, read from the store for a blob (checked against its hash).
 * `what` names the value in errors ('the output of task "extract"').
 */
export async function readValueText(store: XComStore, row: StoredXCom, what: string): Promise<{ encoding: XComEncoding; text: string }> {
  if (row.blob_key === null) return { encoding: row.encoding, text: row.json ?? row.serialized ?? 'null' };
  let data: Buffer;
  try {
    data = await store.get(row.blob_key);
  } catch (e) {
    const error = coerceError(e);
    if (error instanceof XComBlobMissing) throw new XComUnreadable(`${what} (${formatBytes(row.size_bytes)}) is missing from the XCom object store (${store.describe(row.blob_key)}); run that task again (clear it) to produce it anew`);
    throw new XComUnreadable(`${what} could not be read from the XCom object store (${store.describe(row.blob_key)}): ${error.message}`);
  }
  if (data.length !== row.size_bytes || createHash('sha256').update(data).digest('hex') !== row.blob_sha256) {
    throw new XComUnreadable(`${what} is damaged in the XCom object store (${store.describe(row.blob_key)}: ${formatBytes(data.length)}, expected ${formatBytes(row.size_bytes)} with SHA-256 ${row.blob_sha256}); run that task again (clear it) to produce it anew`);
  }
  return { encoding: row.encoding, text: data.toString('utf8') };
}

/** A stored value, decoded (in-process tasks; the isolated ones decode in their own process). */
export async function readValue(store: XComStore, row: StoredXCom, what: string): Promise<unknown> {
  const { encoding, text } = await readValueText(store, row, what);
  try {
    return decode(encoding, text);
  } catch (e) {
    throw new XComUnreadable(`${what} cannot be decoded (${encoding}, ${formatBytes(row.size_bytes)}): ${coerceError(e).message}`);
  }
}

/**
 * Deletes the blobs whose XCom rows are gone (their tombstones are due), in batches, and
 * returns how many. Call it after deleting XCom rows (a DAG, a clear, retention) and
 * periodically (every worker does, once a minute). Concurrent sweepers share the work
 * (`SKIP LOCKED`); a blob is deleted before its tombstone, so a sweep that fails midway
 * leaves tombstones for the next one, never a blob without a tombstone.
 */
export async function sweepDeletedBlobs(pool: Pool, store: XComStore, opts: { batchSize?: number; maxBatches?: number } = {}): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
  let swept = 0;
  for (let batch = 0; batch < (opts.maxBatches ?? Infinity); batch++) {
    const client = await pool.connect();
    let keys: string[];
    try {
      await client.query('BEGIN');
      keys = (await client.query<{ key: string }>('SELECT key FROM xcom_blob_tombstone WHERE delete_after <= now() ORDER BY delete_after LIMIT $1 FOR UPDATE SKIP LOCKED', [batchSize])).rows.map((r) => r.key);
      if (keys.length > 0) {
        await store.delete(keys);
        await client.query('DELETE FROM xcom_blob_tombstone WHERE key = ANY($1::text[])', [keys]);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    swept += keys.length;
    if (keys.length < batchSize) break;
  }
  return swept;
}
