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

/** Writes one audit row. A failure to write is reported to `onWarning` (default stderr), never thrown: the action already happened. */
export async function recordAudit(prisma: Db, entry: AuditEntry, onWarning: (message: string) => void = defaultWarning): Promise<void> {
  try {
    await prisma.auditLog.create({
      data: {
        actor: entry.caller.actor,
        actorName: entry.caller.name,
        action: entry.action,
        target: entry.target,
        dagId: entry.dagId ?? null,
        outcome: entry.outcome,
        details: (entry.details ?? undefined) as object | undefined,
        clientAddress: entry.clientAddress,
      },
      select: { id: true },
    });
  } catch (e) {
    onWarning(`could not write the audit row for ${entry.action} by ${entry.caller.actor} (${entry.outcome}): ${coerceError(e).message}`);
  }
}

function defaultWarning(message: string) {
  console.warn(`warning: ${message}`);
}
