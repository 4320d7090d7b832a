// How XCom values are written as text and read back (see server/src/xcom/README in
// ARCHITECTURE.md, "XCom at any size"). Plain CommonJS: the isolated task process
// (executor/task-process.cjs) encodes return values and decodes arguments with it too.
//
// Two encodings:
// - 'json': the value is plain JSON data (null, booleans, finite numbers, strings without
//   NUL, arrays, plain objects, no undefined, no shared objects): JSON text, which
//   PostgreSQL stores as jsonb and the executor's mapping statements can read.
// - 'devalue': anything else devalue keeps (Date, Map, Set, BigInt, undefined, RegExp,
//   typed arrays, ArrayBuffer, URL, NaN, -0, strings with NUL, repeated and cyclic
//   references): devalue's text, itself JSON with every string escaped.
// Functions, symbols and class instances cannot be stored: encoding fails, naming where.
// Symbol-keyed properties are not data and are left out of plain JSON, as JSON.stringify does
// (a non-plain object with them fails, as devalue refuses them).
'use strict';

// Loaded on first use: a task process whose values are plain JSON never pays for it.
let loaded;
const devalue = () => (loaded ??= require('devalue'));

/** Deeper values are refused: serializers recurse, and a stack overflow tells a user nothing. */
const MAX_DEPTH = 1000;

class ValueNotStorable extends Error {
  constructor(message) {
    super(message);
    this.name = 'ResultNotStorable';
    this.retryable = false;
  }
}

/**
 * Looks a value over once, without recursion: whether it is plain JSON, and a lower bound
 * of its encoded size (so that a value far over the limit is refused before its text is
 * built). Throws for what cannot be stored, naming the path.
 */
function inspect(value, what, maxBytes) {
  let plain = true;
  let bytes = 0;
  const seen = new Set();
  // Entries: { v, parent, key, depth }; a path is spelled out only for an error.
  const stack = [{ v: value, parent: null, key: '', depth: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop();
    const v = entry.v;
    const type = typeof v;
    if (type === 'string') {
      bytes += v.length + 2;
      if (plain && v.includes('\0')) plain = false;
    } else if (type === 'number') {
      bytes += 1;
      if (!Number.isFinite(v) || Object.is(v, -0)) plain = false;
    } else if (type === 'boolean' || v === null) {
      bytes += 4;
    } else if (type === 'undefined' || type === 'bigint') {
      bytes += 1;
      plain = false;
    } else if (type === 'function') {
      throw new ValueNotStorable(`${what} holds a function at ${pathOf(entry)}; return data (functions cannot be stored)`);
    } else if (type === 'symbol') {
      throw new ValueNotStorable(`${what} holds a symbol at ${pathOf(entry)}; return data (symbols cannot be stored)`);
    } else {
      const depth = entry.depth;
      if (depth >= MAX_DEPTH) throw new ValueNotStorable(`${what} is nested deeper than ${MAX_DEPTH} levels (at ${pathOf(entry).slice(0, 200)}…)`);
      if (seen.has(v)) {
        plain = false; // a repeated or cyclic reference: devalue keeps it
        continue;
      }
      seen.add(v);
      if (Array.isArray(v)) {
        bytes += 2;
        for (let i = v.length - 1; i >= 0; i--) {
          if (!(i in v)) plain = false;
          stack.push({ v: v[i], parent: entry, key: i, depth: depth + 1 });
        }
      } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
        bytes += Math.ceil(v.byteLength / 3) * 4;
        plain = false;
      } else if (v instanceof Map) {
        plain = false;
        let i = 0;
        for (const [k, item] of v) {
          stack.push({ v: k, parent: entry, key: `<key ${i}>`, depth: depth + 1 }, { v: item, parent: entry, key: `<value ${i}>`, depth: depth + 1 });
          i++;
        }
      } else if (v instanceof Set) {
        plain = false;
        let i = 0;
        for (const item of v) stack.push({ v: item, parent: entry, key: `<item ${i++}>`, depth: depth + 1 });
      } else if (v instanceof Date || v instanceof RegExp || v instanceof URL || v instanceof URLSearchParams) {
        bytes += 24;
        plain = false;
      } else if (v instanceof Boolean || v instanceof Number || v instanceof String) {
        plain = false;
      } else {
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          const name = (proto && proto.constructor && proto.constructor.name) || 'an object with a custom prototype';
          throw new ValueNotStorable(`${what} holds an instance of ${name} at ${pathOf(entry)}; return plain objects, arrays, Map, Set, Date, BigInt or typed arrays (class instances cannot be stored)`);
        }
        if (proto === null) plain = false;
        bytes += 2;
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i];
          bytes += key.length + 3;
          if (plain && key.includes('\0')) plain = false;
          stack.push({ v: v[key], parent: entry, key, depth: depth + 1 });
        }
      }
    }
    if (bytes > maxBytes) throw tooLarge(what, `more than ${formatBytes(bytes)}`, maxBytes);
  }
  return { plain };
}

/** Where an entry sits in the value: `.a[0].b`, or "its top level". */
function pathOf(entry) {
  const parts = [];
  for (let e = entry; e && e.parent; e = e.parent) parts.push(typeof e.key === 'number' ? `[${e.key}]` : e.key.startsWith('<') ? e.key : `.${e.key}`);
  return parts.length === 0 ? 'its top level' : parts.reverse().join('');
}

function tooLarge(what, size, maxBytes) {
  return new ValueNotStorable(`${what} is ${size} when serialized; the most an XCom value may be is ${formatBytes(maxBytes)} (UPDRAFT_XCOM_MAX_BYTES). Store large data elsewhere and return a reference to it.`);
}

/**
 * Encodes a value for XCom: `{ encoding, text, bytes }` (`bytes`: the text's UTF-8 size).
 * `what` names it in errors ('Task "extract" returned a value'). Throws ValueNotStorable
 * (name `ResultNotStorable`, not retryable) for what cannot be stored or is over `maxBytes`.
 */
function encode(value, what, maxBytes) {
  const { plain } = inspect(value, what, maxBytes);
  let text;
  try {
    text = plain ? JSON.stringify(value) : devalue().stringify(value);
  } catch (e) {
    if (e instanceof RangeError && /string length/i.test(e.message)) throw tooLarge(what, 'more text than one string can hold (about 512 MB)', maxBytes);
    if (e instanceof RangeError) throw new ValueNotStorable(`${what} could not be serialized: ${e.message}`);
    throw new ValueNotStorable(`${what} could not be serialized: ${e && e.message ? e.message : String(e)}${e && e.path ? ` (at ${e.path})` : ''}`);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) throw tooLarge(what, formatBytes(bytes), maxBytes);
  return { encoding: plain ? 'json' : 'devalue', text, bytes };
}

/** The value an encoded text stands for. */
function decode(encoding, text) {
  if (encoding === 'json') return JSON.parse(text);
  if (encoding === 'devalue') return devalue().parse(text);
  throw new Error(`unknown XCom encoding "${encoding}"`);
}

/**
 * A task's argument as the worker sends it: `{ value }` (a literal, or a mapped item, plain
 * JSON), `{ encoded: { encoding, text } }` (an upstream's value), `{ list: [encoded…] }`
 * (a mapped upstream's values) or `{}` (an upstream without a value: undefined).
 */
function decodeArg(arg) {
  if ('value' in arg) return arg.value;
  if (arg.encoded) return decode(arg.encoded.encoding, arg.encoded.text);
  if (arg.list) return arg.list.map((item) => decode(item.encoding, item.text));
  return undefined;
}

function formatBytes(n) {
  if (n >= 1024 * 1024 * 1024) return `${+(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
  if (n >= 1024 * 1024) return `${+(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

module.exports = { encode, decode, decodeArg, formatBytes, ValueNotStorable, MAX_DEPTH };
