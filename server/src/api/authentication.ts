// Who sent a request: the Yoga plugin that reads `Authorization: Bearer <token>`, checks the
// token (tokens.ts), refuses bad ones (401) and clients with too many failures (429), audits
// failed authentications, and hands the caller to the GraphQL context. What a caller may do is
// decided in auth.ts, through the schema's scopes (builder.ts).
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ANONYMOUS_CALLER, type Caller, LOCAL_CALLER } from '../auth.js';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/prisma.js';
import { isConnectionError } from '../errors.js';
import { authenticateToken, type TokenRefusal } from '../tokens.js';
import { FailedAuthentications, type FailedAuthOptions } from './failed-auth.js';
import { errorResponse } from './http.js';

/** How the API authenticates its callers. */
export interface AuthOptions {
  /**
   * Whether a request without a token acts as the local admin (`LOCAL_CALLER`), as for
   * `updraft start` on loopback and the CLI in process. Default true. When false, requests
   * without a token may use public fields only; everything else is UNAUTHENTICATED.
   * A request that carries a token is authenticated by it either way.
   */
  open?: boolean;
  /** Whether introspection (`__schema`, `__type`) is answered; never to a caller without a token when `open` is false. Default true. */
  introspection?: boolean;
  /** Limits on failed authentications per client (failed-auth.ts). */
  failedAuth?: FailedAuthOptions;
  /** Hears about audit rows that could not be written. Default: stderr. */
  onWarning?: (message: string) => void;
}

/** What authentication found out about a request. */
export interface RequestAuth {
  caller: Caller;
  /** The client's IP address, or null for a request made in process (the CLI, tests). */
  clientAddress: string | null;
}

const REFUSALS: Record<TokenRefusal, (prefix: string | null) => string> = {
  malformed: () => 'The Authorization header does not hold an Updraft API token: send "Authorization: Bearer upd_<prefix>_<secret>"',
  invalid: () => 'Invalid API token',
  expired: (prefix) => `API token upd_${prefix} has expired; create a new one (updraft tokens create)`,
  revoked: (prefix) => `API token upd_${prefix} has been revoked`,
};

/**
 * The authentication plugin for one API, and how its context finds each request's caller.
 * Failed authentications are counted per client address in this process's memory.
 */
export function authentication(
  prisma: Db,
  opts: AuthOptions = {},
): {
  plugin: Plugin;
  requestAuth(request: Request): RequestAuth;
  authenticate(request: Request, clientAddress: string | null, fetchAPI: { Response: typeof Response }): Promise<RequestAuth | Response>;
  /** Counts (and, paced, audits) a failed authentication that was decided elsewhere (a bad webhook signature). */
  failed(clientAddress: string | null, reason: string): Promise<void>;
} {
  const open = opts.open ?? true;
  const introspection = opts.introspection ?? true;
  const failures = new FailedAuthentications(opts.failedAuth);
  const byRequest = new WeakMap<Request, RequestAuth>();
  const requestAuth = (request: Request): RequestAuth => byRequest.get(request) ?? { caller: ANONYMOUS_CALLER, clientAddress: null };

  /** Counts a failed authentication and, at most once a second per client, writes it to the audit log. */
  async function failed(clientAddress: string | null, reason: string, prefix: string | null) {
    const verdict = failures.recordFailure(clientAddress ?? 'in-process');
    if (!verdict.audit) return;
    const caller = prefix ? { ...ANONYMOUS_CALLER, actor: `token:${prefix}` } : ANONYMOUS_CALLER;
    await recordAudit(
      prisma,
      { caller, action: 'authenticate', target: prefix ? `api_token:${prefix}` : null, outcome: 'denied', details: { reason, attempts: verdict.attempts }, clientAddress },
      opts.onWarning,
    );
  }

  /**
   * Who sent `request` (its `Authorization: Bearer` token; without one, the local admin when
   * `open`, else nobody), or the response refusing it: 429 for a client with too many failed
   * authentications, 401 for a bad token (audited), 503 when the database is away. What the
   * GraphQL API and the webhooks (api/webhook.ts) both use.
   */
  async function authenticate(request: Request, clientAddress: string | null, fetchAPI: { Response: typeof Response }): Promise<RequestAuth | Response> {
    const retryAfterMs = failures.retryAfterMs(clientAddress ?? 'in-process');
    if (retryAfterMs > 0) {
      const seconds = Math.ceil(retryAfterMs / 1000);
      return errorResponse(fetchAPI, 429, 'RATE_LIMITED', `Too many failed authentications from this address; retry in ${seconds} s`, { 'retry-after': String(seconds) });
    }
    const header = request.headers.get('authorization');
    if (header === null) return { caller: open ? LOCAL_CALLER : ANONYMOUS_CALLER, clientAddress };
    const token = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
    let check;
    try {
      check = token === undefined ? ({ ok: false, reason: 'malformed', prefix: null } as const) : await authenticateToken(prisma, token);
      if (!check.ok) await failed(clientAddress, check.reason, check.prefix);
    } catch (e) {
      if (!isConnectionError(e)) throw e;
      return errorResponse(fetchAPI, 503, 'SERVICE_UNAVAILABLE', 'The metadata database is unreachable; retry shortly');
    }
    if (!check.ok) return errorResponse(fetchAPI, 401, 'UNAUTHENTICATED', REFUSALS[check.reason](check.prefix), { 'www-authenticate': 'Bearer error="invalid_token"' });
    return { caller: check.caller, clientAddress };
  }

  const plugin: Plugin = {
    async onRequestParse({ request, serverContext, endResponse, fetchAPI }) {
      const auth = await authenticate(request, clientAddressOf(serverContext), fetchAPI);
      if (auth instanceof fetchAPI.Response) endResponse(auth);
      else byRequest.set(request, auth);
    },
    onValidate({ addValidationRule, context }) {
      const { request } = context as { request?: Request };
      const caller = request ? requestAuth(request).caller : ANONYMOUS_CALLER;
      if (!introspection || caller.role === null) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
    async onExecutionResult({ result, request }) {
      // A request refused for want of a token is a failed authentication too.
      const auth = requestAuth(request);
      if (auth.caller.role !== null || !result || !('errors' in result)) return;
      if (result.errors?.some((e) => e.extensions?.['code'] === 'UNAUTHENTICATED')) await failed(auth.clientAddress, 'no token', null);
    },
  };
  return { plugin, requestAuth, authenticate, failed: (clientAddress, reason) => failed(clientAddress, reason, null) };
}

/** The peer's address: a Node request's socket, or `clientAddress` in a server context given to `fetch` (tests). */
export function clientAddressOf(serverContext: unknown): string | null {
  const context = serverContext as { req?: { socket?: { remoteAddress?: string } }; clientAddress?: string } | undefined;
  return context?.req?.socket?.remoteAddress ?? context?.clientAddress ?? null;
}
