import { decode } from './codec.cjs';

/** An XCom row's columns that the API reads (never the blob itself). */
export interface XComRowForApi {
  value: unknown;
  encoding: string;
  serialized: string | null;
  blobKey: string | null;
  sizeBytes: number;
}

/** Most JSON nodes one rendered value may have: shared references could otherwise multiply a small value without bound. */
const MAX_NODES = 100_000;

/**
 * An XCom value as the API shows it, in JSON:
 * - plain JSON as it is;
 * - a value in the object store as `{ "$blob": { sizeBytes, reference } }`, never loaded;
 * - other types with a marker object: `{ "$date": iso }`, `{ "$map": [[k, v]…] }`,
 *   `{ "$set": […] }`, `{ "$bigint": "123" }`, `{ "$undefined": true }`,
 *   `{ "$number": "NaN" | "Infinity" | "-Infinity" | "-0" }`, `{ "$regexp": "/a/g" }`,
 *   `{ "$url": "…" }`, `{ "$typedArray": "Uint8Array", "base64": "…" }`,
 *   `{ "$cycle": true }` where a value contains itself, `{ "$truncated": true }` past
 *   100,000 nodes.
 * The markers are for reading; a program that needs the value itself reads it in a task.
 */
export function renderXCom(row: XComRowForApi): unknown {
  if (row.blobKey !== null) return { $blob: { sizeBytes: row.sizeBytes, reference: row.blobKey } };
  if (row.serialized === null) return row.value;
  let value: unknown;
  try {
    value = decode('devalue', row.serialized);
  } catch (e) {
    return { $unreadable: e instanceof Error ? e.message : String(e) };
  }
  let nodes = 0;
  const path = new Set<object>();
  const render = (v: unknown): unknown => {
    if (++nodes > MAX_NODES) return { $truncated: true };
    switch (typeof v) {
      case 'undefined':
        return { $undefined: true };
      case 'bigint':
        return { $bigint: v.toString() };
      case 'number':
        return Number.isFinite(v) && !Object.is(v, -0) ? v : { $number: Object.is(v, -0) ? '-0' : String(v) };
      case 'object':
        break;
      default:
        return v;
    }
    if (v === null) return null;
    if (path.has(v)) return { $cycle: true };
    path.add(v);
    try {
      if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() };
      if (v instanceof RegExp) return { $regexp: String(v) };
      if (v instanceof URL) return { $url: v.href };
      if (v instanceof Map) return { $map: [...v].map(([k, item]) => [render(k), render(item)]) };
      if (v instanceof Set) return { $set: [...v].map(render) };
      if (ArrayBuffer.isView(v)) return { $typedArray: v.constructor.name, base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
      if (v instanceof ArrayBuffer) return { $typedArray: 'ArrayBuffer', base64: Buffer.from(v).toString('base64') };
      if (Array.isArray(v)) return Array.from(v, render);
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, render(item)]));
    } finally {
      path.delete(v);
    }
  };
  return render(value);
}
