// The structured fields of a log line as plain JSON data, at a bounded cost: shared by the
// isolated task process (task-process.cjs, before the fields cross IPC) and the worker
// (try-log.ts, for in-process tasks and again for what a task process sent). Plain CommonJS so
// that the task process runs it without a TS loader.
'use strict';

/** Fields whose JSON would be longer than this (about; characters) are not kept: one marker field says so. */
const MAX_LOG_FIELDS = 64 * 1024;

class FieldsTooLarge extends Error {}

/**
 * `fields` as plain JSON data (what JSON.stringify keeps), NUL characters replaced (PostgreSQL
 * text cannot hold them). Serializing stops as soon as it has seen about MAX_LOG_FIELDS
 * characters, so a huge object costs what its first 64 KB cost, and one nested too deep for
 * the stack fails at once: either becomes one field that says why it was not kept.
 */
function plainLogFields(fields) {
  if (fields === undefined) return undefined;
  let budget = MAX_LOG_FIELDS;
  try {
    const json = JSON.stringify(fields, (key, value) => {
      budget -= key.length + (typeof value === 'string' ? value.length : 4);
      if (budget < 0) throw new FieldsTooLarge();
      return typeof value === 'string' ? value.replaceAll('\0', '\uFFFD') : value;
    });
    return json === undefined ? undefined : JSON.parse(json);
  } catch (e) {
    if (e instanceof FieldsTooLarge) return { fieldsCut: `the fields of this line are over ${MAX_LOG_FIELDS / 1024} KB and were not kept` };
    return { unserializableFields: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

module.exports = { MAX_LOG_FIELDS, plainLogFields };
