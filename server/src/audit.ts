// The audit log: who did what, when, to what, and how it ended. The API writes one row per
// mutation attempt (api/audit-plugin.ts makes that hold for every mutation) and one per failed
// authentication (bounded under a flood, api/authentication.ts).
import type { Caller } from './auth.js';
import type { Db } from './db/prisma.js';
import { coerceError } from './errors.js';

/**
 * How an attempt ended: `success`, `denied` (authentication or authorization refused it before
 * it ran) or `failed: <message>` (it ran and threw; unexpected errors read `failed: Unexpected error.`).
 */
export type AuditOutcome = 'success' | 'denied' | `failed: ${string}`;

/** What an action was about. */
export interface AuditSubject {
  /** `dag:hello_world`, `dag_run:12`, `api_token:3f9a1c0b7d2e`; null when there is none. */
  target: string | null;
  /** The DAG concerned, if any: tokens limited to some DAGs see only those DAGs' rows. */
  dagId?: string | null;
  /** Arguments and results worth keeping (JSON). Never a secret: this is shown to every op. */
  details?: Record<string, unknown> | null;
}

export interface AuditEntry extends AuditSubject {
  caller: Caller;
  /** The mutation's name, or `authenticate`. */
  action: string;
  outcome: AuditOutcome;
  clientAddress: string | null;
}

/** Longest text kept in a column or a details string; longer ones are cut with `…`. */
export const MAX_AUDIT_TEXT = 500;
/** Largest `details` kept, as JSON; bigger ones are replaced by `{ "truncated": true }`. */
export const MAX_AUDIT_DETAILS_BYTES = 8 * 1024;

/**
 * Writes one audit row. What a caller sent (a target, a message quoting it) is made storable
 * first (no NUL or lone surrogate, which PostgreSQL refuses; bounded length), so that the row
 * is written whatever the input. A failure to write is reported to `onWarning` (default
 * stderr), never thrown: the action already happened.
 */
export async function recordAudit(prisma: Db, entry: AuditEntry, onWarning: (message: string) => void = defaultWarning): Promise<void> {
  try {
    let details = entry.details == null ? undefined : (storable(entry.details) as object);
    if (details && Buffer.byteLength(JSON.stringify(details)) > MAX_AUDIT_DETAILS_BYTES) details = { truncated: true };
    await prisma.auditLog.create({
      data: {
        actor: storableText(entry.caller.actor),
        actorName: entry.caller.name === null ? null : storableText(entry.caller.name),
        action: storableText(entry.action),
        target: entry.target == null ? null : storableText(entry.target),
        dagId: entry.dagId == null ? null : storableText(entry.dagId),
        outcome: storableText(entry.outcome),
        details,
        clientAddress: entry.clientAddress,
      },
      select: { id: true },
    });
  } catch (e) {
    onWarning(`could not write the audit row for ${entry.action} by ${entry.caller.actor} (${entry.outcome}): ${coerceError(e).message}`);
  }
}

/** `text` without NUL characters or lone surrogates (each becomes U+FFFD), cut at MAX_AUDIT_TEXT. */
export function storableText(text: string): string {
  const clean = text.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return clean.length > MAX_AUDIT_TEXT ? `${clean.slice(0, MAX_AUDIT_TEXT - 1)}…` : clean;
}

/** A JSON value with every string (and key) made storable; anything that is not JSON becomes its string form. */
function storable(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (depth > 10) return '…';
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => storable(item, depth + 1));
  if (typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).slice(0, 100).map(([key, item]) => [storableText(key), storable(item, depth + 1)]));
  }
  return storableText(String(value instanceof Date ? value.toISOString() : value));
}

function defaultWarning(message: string) {
  console.warn(`warning: ${message}`);
}
