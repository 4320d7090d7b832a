// The API's side of the secret key: sealing and opening secrets, with the key's troubles
// (none configured, a value written under another key) reported as SECRETS_UNAVAILABLE
// instead of masked as unexpected errors, so that an operator can see what to fix.
import { UpdraftError } from '../errors.js';
import { NoSecretKey, SecretUnreadable, type SecretKey } from '../secrets/key.js';
import type { ApiContext } from './builder.js';

/** The request's secret key, asked for only when a value must be sealed or opened. */
export function apiSecretKey(ctx: ApiContext): () => SecretKey {
  return () => {
    try {
      return ctx.secretKey();
    } catch (e) {
      if (e instanceof NoSecretKey) throw new UpdraftError('SECRETS_UNAVAILABLE', `The server cannot store or read secrets: ${e.message}`);
      throw e;
    }
  };
}

/** Runs `fn`; a stored value it cannot decrypt becomes SECRETS_UNAVAILABLE naming that value. */
export async function withSecrets<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SecretUnreadable) throw new UpdraftError('SECRETS_UNAVAILABLE', e.message);
    throw e;
  }
}
