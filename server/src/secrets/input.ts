// What a variable or a connection may hold, checked in one place for the API (BAD_USER_INPUT)
// and the worker (a task asking for a malformed name). Every check answers a sentence that
// says what is wrong, or null.
import { jsonDepthExceeds } from '../api/limits.js';

/** Longest variable key or connection id (Airflow's ID_LEN). */
export const MAX_NAME_LENGTH = 250;
/** Largest variable value, in UTF-8 bytes. */
export const MAX_VARIABLE_BYTES = 1024 * 1024;
/** Largest connection password, in UTF-8 bytes (room for a private key). */
export const MAX_PASSWORD_BYTES = 64 * 1024;
/** Largest connection `extra`, as JSON, in UTF-8 bytes; and how deep it may nest. */
export const MAX_EXTRA_BYTES = 64 * 1024;
export const MAX_EXTRA_DEPTH = 32;
/** Longest host, login, schema; type; description. */
export const MAX_FIELD_LENGTH = 1000;
export const MAX_TYPE_LENGTH = 100;
export const MAX_DESCRIPTION_LENGTH = 1000;

const NAME = /^[A-Za-z0-9_.-]+$/;
const TYPE = /^[A-Za-z0-9_-]+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` cannot name a variable, or null. */
export function variableKeyProblem(key: string): string | null {
  return nameProblem('variable key', key);
}

/** Why `id` cannot name a connection, or null. */
export function connectionIdProblem(id: string): string | null {
  return nameProblem('connection id', id);
}

function nameProblem(what: string, name: string): string | null {
  if (name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME.test(name)) return null;
  return `${quote(name)} is not a ${what}: ${what}s have 1 to ${MAX_NAME_LENGTH} characters, each a letter, a digit, "_", "-" or "."`;
}

/** Why `value` cannot be a variable's value, or null. */
export function variableValueProblem(value: string): string | null {
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_VARIABLE_BYTES) return `value is ${bytes} bytes; a variable holds at most ${MAX_VARIABLE_BYTES} (1 MiB)`;
  return textProblem('value', value);
}

/** Why `text` (a description, a host…) cannot be stored: NUL, lone surrogates, or longer than `max`. */
export function textProblem(field: string, text: string, max?: number): string | null {
  if (max !== undefined && text.length > max) return `${field} has ${text.length} characters; at most ${max}`;
  if (text.includes('\u0000')) return `${field} contains a NUL character (\\u0000), which cannot be stored`;
  if (LONE_SURROGATE.test(text)) return `${field} contains a lone UTF-16 surrogate, which cannot be stored`;
  return null;
}

/** The fields of a connection as given (API input, an `UPDRAFT_CONN_<ID>` variable), before checks. */
export interface ConnectionFields {
  type: string;
  host: string | null;
  port: number | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  extra: Record<string, unknown>;
}

/** Every problem of a connection's fields (empty: none), each a sentence naming the field. */
export function connectionProblems(fields: ConnectionFields): string[] {
  const problems: string[] = [];
  const add = (problem: string | null) => problem && problems.push(problem);
  if (fields.type.length === 0 || fields.type.length > MAX_TYPE_LENGTH || !TYPE.test(fields.type)) {
    add(`${quote(fields.type)} is not a connection type: types have 1 to ${MAX_TYPE_LENGTH} characters, each a letter, a digit, "_" or "-" (e.g. postgres, http)`);
  }
  for (const field of ['host', 'login', 'schema'] as const) {
    const value = fields[field];
    if (value !== null) add(textProblem(field, value, MAX_FIELD_LENGTH));
  }
  if (fields.port !== null && !(Number.isInteger(fields.port) && fields.port >= 1 && fields.port <= 65535)) add(`port must be a whole number from 1 to 65535, got ${fields.port}`);
  if (fields.password !== null) {
    const bytes = Buffer.byteLength(fields.password);
    add(bytes > MAX_PASSWORD_BYTES ? `password is ${bytes} bytes; at most ${MAX_PASSWORD_BYTES}` : textProblem('password', fields.password));
  }
  add(extraProblem(fields.extra));
  return problems;
}

function extraProblem(extra: unknown): string | null {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) return 'extra must be a JSON object';
  if (jsonDepthExceeds(extra, MAX_EXTRA_DEPTH)) return `extra is nested more than ${MAX_EXTRA_DEPTH} levels deep`;
  const bytes = Buffer.byteLength(JSON.stringify(extra));
  if (bytes > MAX_EXTRA_BYTES) return `extra is ${bytes} bytes as JSON; at most ${MAX_EXTRA_BYTES}`;
  const stack: unknown[] = [extra];
  for (let value = stack.pop(); value !== undefined; value = stack.pop()) {
    if (typeof value === 'string') {
      const problem = textProblem('extra', value);
      if (problem) return problem;
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const problem = textProblem('a key of extra', key);
        if (problem) return problem;
        stack.push(item);
      }
    }
  }
  return null;
}

/** Quotes user text for a message, cut to a readable length. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
