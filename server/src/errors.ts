import { GraphQLError } from 'graphql';

/** Turns anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  let text: string;
  try {
    text = JSON.stringify(e) ?? String(e);
  } catch {
    text = String(e);
  }
  return new Error(`Non-Error thrown: ${text}`, { cause: e });
}

/** The SQLSTATE of a node-postgres error (e.g. '42P04'), if it carries one. */
export function pgErrorCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

/** Socket errors (Node's `code`) that mean the database could not be reached or the connection dropped. */
const SOCKET_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Prisma's codes for the same: P1001 can't reach the server, P1002 reaching it timed out, P1017 server closed the connection. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1017']);
/** `DriverAdapterError.cause.kind` values (@prisma/adapter-pg) that mean the same. */
const ADAPTER_CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/**
 * Errors from losing the database (network, restart, failover), as opposed to a bad statement.
 * Recognises node-postgres errors and the wrappers around them: Prisma's errors (their code, or
 * the DriverAdapterError in `meta.driverAdapterError`), GraphQL's `originalError`, and `cause`.
 */
export function isConnectionError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return CONNECTION_MESSAGE.test(coerceError(e).message);
  return someInChain(e, (err) => {
    const code = pgErrorCode(err);
    if (code) return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || SOCKET_CONNECTION_CODES.has(code) || PRISMA_CONNECTION_CODES.has(code);
    const kind = typeof err === 'object' && err !== null && 'kind' in err ? err.kind : undefined;
    if (typeof kind === 'string') return ADAPTER_CONNECTION_KINDS.has(kind);
    return err instanceof Error && CONNECTION_MESSAGE.test(err.message);
  });
}

const CONNECTION_MESSAGE = /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** Whether `test` holds for `e` or an error it wraps (`cause`, `originalError`, Prisma's `meta.driverAdapterError`). */
function someInChain(e: unknown, test: (err: unknown) => boolean): boolean {
  const seen = new Set<unknown>();
  for (let err = e, depth = 0; typeof err === 'object' && err !== null && !seen.has(err) && depth < 10; depth++) {
    seen.add(err);
    if (test(err)) return true;
    const wrapper = err as { cause?: unknown; originalError?: unknown; meta?: { driverAdapterError?: unknown } };
    const adapterError = wrapper.meta?.driverAdapterError;
    if (adapterError !== undefined && someInChain(adapterError, test)) return true;
    err = wrapper.originalError ?? wrapper.cause;
  }
  return false;
}

/** Data exceptions (class 22) and program limits (class 54): the statement's values were refused. */
export function isDataError(e: unknown): boolean {
  const code = pgErrorCode(e);
  return code !== undefined && (code.startsWith('22') || code.startsWith('54'));
}

/**
 * An error a caller can fix. It is a GraphQLError so that the API reports its message
 * with `extensions.code`, while any other error stays masked.
 */
export class UpdraftError extends GraphQLError {
  // `name` stays "GraphQLError": that is how Yoga tells expected errors from unexpected ones.
  constructor(
    readonly code: UpdraftErrorCode,
    message: string,
    /**
     * The HTTP status of a response carrying this error, and headers to send with it (Yoga
     * reads `extensions.http` and strips it).
     */
    opts: { httpStatus?: number; headers?: Record<string, string> } = {},
  ) {
    // `spec: false`: Yoga answers this status even to clients that accept only application/json.
    const http = opts.httpStatus ? { status: opts.httpStatus, spec: false, ...(opts.headers ? { headers: opts.headers } : {}) } : undefined;
    super(message, { extensions: http ? { code, http } : { code } });
  }
}

/**
 * NOT_FOUND and BAD_USER_INPUT: the caller's request names something missing or is invalid.
 * QUERY_LIMIT_EXCEEDED: a GraphQL operation refused by the API's size limits before it ran.
 * SERVICE_UNAVAILABLE: the metadata database cannot be reached; the same request may work later.
 * UNAUTHENTICATED: no token where one is required, or a token that is unknown, expired or revoked.
 * FORBIDDEN: the token's role or DAG grants do not allow what was asked.
 * RATE_LIMITED: too many failed authentications from this client; retry after `Retry-After` seconds.
 * SUBSCRIPTION_LIMIT: the server already serves as many live subscriptions as it allows.
 * SECRETS_UNAVAILABLE: the server cannot encrypt or decrypt secrets: it has no secret key
 * (UPDRAFT_SECRET_KEY), or a stored value was encrypted with another key.
 */
export type UpdraftErrorCode =
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'QUERY_LIMIT_EXCEEDED'
  | 'SERVICE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'SUBSCRIPTION_LIMIT'
  | 'SECRETS_UNAVAILABLE';

export const notFound = (message: string) => new UpdraftError('NOT_FOUND', message);
export const badInput = (message: string) => new UpdraftError('BAD_USER_INPUT', message);
