// The key that encrypts secrets at rest (secret variables, connection passwords and extras),
// and the sealed format. Terminology:
// - secret key: what the operator gives, `UPDRAFT_SECRET_KEY` (or, for local use, the
//   generated `<home>/secret.key`): random text of at least 32 characters;
// - data key: the AES-256 key derived from it with HKDF-SHA256 (never stored);
// - key id: 4 bytes derived from it the same way, stored with every ciphertext, so that a
//   value written under another key is recognised as such (and a future rotation can tell
//   keys apart) instead of failing as garbage;
// - context: what a value is (`variable:<key>`, `connection:<id>:password`), bound to its
//   ciphertext as authenticated data, so a ciphertext copied to another row does not decrypt.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The environment variable holding the secret key. */
export const SECRET_KEY_VARIABLE = 'UPDRAFT_SECRET_KEY';
/** Shortest secret key accepted, in characters (`openssl rand -base64 32` gives 44). */
export const MIN_SECRET_KEY_LENGTH = 32;
/** The generated key of a home, for local use (`updraft start` without UPDRAFT_SECRET_KEY). */
export const HOME_KEY_FILE = 'secret.key';

/** Format of a sealed value: version (1 byte), key id (4), IV (12), GCM tag (16), ciphertext. */
const FORMAT_VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
// A fixed salt is right for HKDF over a high-entropy input key (RFC 5869 §3.1): it separates
// Updraft's keys from any other use of the same text; the info strings separate the two outputs.
const SALT = Buffer.from('updraft secret key v1');

/** A stored secret cannot be decrypted: written under another key, or damaged. */
export class SecretUnreadable extends Error {
  override name = 'SecretUnreadable';
}

/** No secret key is configured where one is needed. */
export class NoSecretKey extends Error {
  override name = 'NoSecretKey';
}

/** A secret key, ready to seal and open values. Immutable; the key material never leaves it. */
export class SecretKey {
  /** Hex id of the key (8 digits), stored with every value it seals. Derived, so it reveals nothing of the key. */
  readonly id: string;
  readonly #idBytes: Buffer;
  readonly #dataKey: KeyObject;

  /**
   * @param text the secret key: at least 32 characters (surrounding whitespace ignored).
   * @param source where it came from, for messages: `UPDRAFT_SECRET_KEY` or a file's path.
   */
  constructor(
    text: string,
    readonly source: string,
  ) {
    const material = text.trim();
    if (material.length < MIN_SECRET_KEY_LENGTH) {
      throw new TypeError(
        `${source} must hold at least ${MIN_SECRET_KEY_LENGTH} characters of random text (e.g. the output of \`openssl rand -base64 32\`); it has ${material.length}`,
      );
    }
    const ikm = Buffer.from(material, 'utf8');
    this.#dataKey = createSecretKey(Buffer.from(hkdfSync('sha256', ikm, SALT, 'aes-256-gcm data key', 32)));
    this.#idBytes = Buffer.from(hkdfSync('sha256', ikm, SALT, 'key id', KEY_ID_BYTES));
    this.id = this.#idBytes.toString('hex');
  }

  /** `plaintext` encrypted (AES-256-GCM, fresh random IV) and bound to `context`. */
  seal(plaintext: string, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_VERSION), this.#idBytes, iv, cipher.getAuthTag(), body]);
  }

  /**
   * The plaintext of a value sealed with this key for `context`. `what` names the value for
   * errors (`variable "api_token"`): a value sealed under another key, or damaged, throws
   * SecretUnreadable saying which, never returns garbage.
   */
  open(sealed: Uint8Array, context: string, what: string): string {
    const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (data.length < HEADER_BYTES || data[0] !== FORMAT_VERSION) {
      throw new SecretUnreadable(`The stored ${what} is not in a format this version of Updraft can read (format ${data[0] ?? 'none'}, ${data.length} bytes)`);
    }
    const keyId = data.subarray(1, 1 + KEY_ID_BYTES);
    if (!keyId.equals(this.#idBytes)) {
      throw new SecretUnreadable(
        `The stored ${what} was encrypted with secret key ${keyId.toString('hex')}, but this process has secret key ${this.id} (from ${this.source}): ` +
          `give it the ${SECRET_KEY_VARIABLE} the value was written with, or set the value again`,
      );
    }
    const iv = data.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + IV_BYTES);
    const tag = data.subarray(1 + KEY_ID_BYTES + IV_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#dataKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(data.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable(`The stored ${what} failed its integrity check (damaged, or copied from another row): set it again`);
    }
  }
}

/**
 * Where a process gets its secret key when it needs one; throws NoSecretKey, saying what to
 * do, when there is none. Called on every use: cheap once the key is found.
 */
export type SecretKeySource = () => SecretKey;

/** A source that always gives `key`. */
export function fixedSecretKey(key: SecretKey): SecretKeySource {
  return () => key;
}

/** A source for a process that has no key: `why` ("this process has no secret key: …") says what to do about it. */
export function noSecretKey(why: string): SecretKeySource {
  return () => {
    throw new NoSecretKey(why);
  };
}

/** `UPDRAFT_SECRET_KEY` when it is set (and valid: a bad one throws), else null. */
export function secretKeyFromEnv(env: NodeJS.ProcessEnv = process.env): SecretKey | null {
  const text = env[SECRET_KEY_VARIABLE];
  return text === undefined || text === '' ? null : new SecretKey(text, SECRET_KEY_VARIABLE);
}

/**
 * The key of `updraft start` (local use): `UPDRAFT_SECRET_KEY` when set, else `<home>/secret.key`,
 * generated (256 random bits, file mode 0600) when it does not exist yet. Several processes
 * starting at once agree on one file (it is created exclusively).
 */
export async function localSecretKey(home: string, env: NodeJS.ProcessEnv = process.env): Promise<{ key: SecretKey; generated: boolean }> {
  const fromEnv = secretKeyFromEnv(env);
  if (fromEnv) return { key: fromEnv, generated: false };
  const file = path.join(home, HOME_KEY_FILE);
  const existing = await readKeyFile(file);
  if (existing) return { key: existing, generated: false };
  await mkdir(home, { recursive: true });
  try {
    await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    return { key: (await readKeyFile(file))!, generated: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { key: (await readKeyFile(file))!, generated: false }; // another process made it first
  }
}

/**
 * The key of a worker or a CLI command: `UPDRAFT_SECRET_KEY` when set (checked now), else
 * `<home>/secret.key` once it exists (looked for again on each use until found, so a worker
 * started before `updraft start` generated it finds it). Never generates one: a key that the
 * API did not encrypt with would decrypt nothing.
 */
export function processSecretKey(home: string, env: NodeJS.ProcessEnv = process.env): SecretKeySource {
  const fromEnv = secretKeyFromEnv(env);
  if (fromEnv) return fixedSecretKey(fromEnv);
  const file = path.join(home, HOME_KEY_FILE);
  let found: SecretKey | null = null;
  return () => {
    found ??= readKeyFileSync(file);
    if (found) return found;
    throw new NoSecretKey(`this process has no secret key: set ${SECRET_KEY_VARIABLE} to the key the API encrypts secrets with (or run \`updraft start\` once in this home, which generates ${file})`);
  };
}

async function readKeyFile(file: string): Promise<SecretKey | null> {
  try {
    return new SecretKey(await readFile(file, 'utf8'), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function readKeyFileSync(file: string): SecretKey | null {
  try {
    return new SecretKey(readFileSync(file, 'utf8'), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
