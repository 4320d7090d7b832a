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

/** Errors from losing the database (network, restart, failover), as opposed to a bad statement. */
export function isConnectionError(e: unknown): boolean {
  const code = pgErrorCode(e);
  if (code) return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(coerceError(e).message);
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
    readonly code: 'NOT_FOUND' | 'BAD_USER_INPUT',
    message: string,
  ) {
    super(message, { extensions: { code } });
  }
}

export const notFound = (message: string) => new UpdraftError('NOT_FOUND', message);
export const badInput = (message: string) => new UpdraftError('BAD_USER_INPUT', message);
