// Masking secrets in what a try leaves behind (log lines, its error), Airflow's secrets masker:
// every secret value the try read is replaced by `***` wherever it appears, and so is the
// value of any log field whose name looks sensitive. The worker applies it (run-task.ts), to
// every line whatever its way in (context().log, console.*, raw stdout/stderr), so that task
// code cannot go around it. It is a safety net against accidents, not a barrier against task
// code that wants to leak what it may read (it could print a secret reversed).

/** What a masked value becomes. */
export const MASK = '***';

/**
 * Secret values shorter than this are not masked where they appear in text: masking `ab`
 * would garble every line and show where the secret occurs. They stay write-only in the API,
 * and a log field with a sensitive name is masked whatever the length of its value.
 */
export const MIN_MASKED_LENGTH = 4;

/**
 * Names (of log fields, connection extra fields, variable keys) that mark a value as
 * sensitive: Airflow's list (DEFAULT_SENSITIVE_FIELDS), matched as Airflow does, anywhere in
 * the name and case-insensitively, here also ignoring `_` and `-` (so `db_password`, `apiKey`,
 * `X-Api-Key`, `GITHUB_TOKEN` and `dbpassword` all match). Matching anywhere means some names
 * match that hold nothing secret (`tokenizer_count`, `secretary`): their values are masked
 * too. That is the price of never missing `mytoken` or `db_passwd_old`; such a field can be
 * renamed (`tokenizerCount` still matches; `tkz_count` does not).
 */
const SENSITIVE_WORDS = ['accesstoken', 'apikey', 'authorization', 'keyfiledict', 'passphrase', 'passwd', 'password', 'privatekey', 'proxies', 'secret', 'serviceaccount', 'token'];

/** Whether a field or key name looks like it holds a secret (see SENSITIVE_WORDS). */
export function isSensitiveName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[_-]/g, '');
  return SENSITIVE_WORDS.some((word) => normalized.includes(word));
}

/** Most values one masker holds (a try's lookups are bounded too; see task-secrets.ts). */
const MAX_MASKED_VALUES = 10_000;

/** Replaces known secret values by `***` in text and JSON fields. */
export class SecretMasker {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;
  #stale = false;

  /** Whether no value is masked by content yet (field names still are). */
  get empty(): boolean {
    return this.#values.size === 0;
  }

  /** How many forms of secret values it masks: grows when it learns a secret (TryLog re-masks lines written before). */
  get size(): number {
    return this.#values.size;
  }

  /**
   * Masks `secret` from now on: as it is, as it appears inside JSON text and URL-encoded,
   * and, for a multi-line secret (a private key), each of its lines (raw output arrives line
   * by line). Values shorter than MIN_MASKED_LENGTH are not masked by content.
   */
  add(secret: string): void {
    const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)];
    if (secret.includes('\n')) forms.push(...secret.split(/\r?\n/).map((line) => line.trim()));
    for (const form of forms) {
      if (form.length < MIN_MASKED_LENGTH || this.#values.has(form) || this.#values.size >= MAX_MASKED_VALUES) continue;
      this.#values.add(form);
      this.#stale = true;
    }
  }

  /**
   * Masks every string and number in `value` (at any depth up to MAX_DEPTH): the value of a
   * field a connection type marks secret, whatever its shape.
   */
  addEvery(value: unknown): void {
    walk(value, true, (text) => this.add(text));
  }

  /** Masks the secret values of a connection or a JSON value: every string under a sensitive key. */
  addSensitiveValues(value: unknown): void {
    walk(value, false, (text) => this.add(text));
  }

  /** `text` with every known secret value replaced by `***`. */
  mask(text: string): string {
    const pattern = this.#compiled();
    return pattern ? text.replace(pattern, MASK) : text;
  }

  /**
   * Log fields (plain JSON) with every string masked (keys too) and the value of every field
   * whose name looks sensitive replaced by `***`, at any depth.
   */
  maskFields<T>(fields: T): T {
    return redact(fields, (text) => this.mask(text)) as T;
  }

  /** A try's error with its message and stack masked. */
  maskError<E extends { message: string; stack?: string }>(error: E): E {
    return { ...error, message: this.mask(error.message), ...(error.stack === undefined ? {} : { stack: this.mask(error.stack) }) };
  }

  #compiled(): RegExp | null {
    if (this.#stale) {
      // Longest first, so that a secret containing another is masked whole.
      const values = [...this.#values].sort((a, b) => b.length - a.length);
      this.#pattern = values.length === 0 ? null : new RegExp(values.map(escapeRegExp).join('|'), 'g');
      this.#stale = false;
    }
    return this.#pattern;
  }
}

/**
 * A JSON value with the value of every sensitive key replaced by `***` and every other string
 * passed through `mask`: what the API shows of a connection's extra fields.
 */
export function redact(value: unknown, mask: (text: string) => string = (text) => text, depth = 0): unknown {
  if (typeof value === 'string') return mask(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => redact(item, mask, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [mask(key), isSensitiveName(key) ? MASK : redact(item, mask, depth + 1)]));
}

/** Nesting that masking follows; deeper values are replaced (log fields that deep are no one's intent). */
const MAX_DEPTH = 64;
const TOO_DEEP = `[nested deeper than ${MAX_DEPTH} levels]`;

/** Calls `found` with every string (and number, as text) that sits under a sensitive key (at any depth up to MAX_DEPTH) of a JSON value. */
function walk(value: unknown, sensitive: boolean, found: (text: string) => void, depth = 0): void {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    if (sensitive) found(String(value));
  } else if (typeof value === 'object' && value !== null && depth < MAX_DEPTH) {
    if (Array.isArray(value)) for (const item of value) walk(item, sensitive, found, depth + 1);
    else for (const [key, item] of Object.entries(value)) walk(item, sensitive || isSensitiveName(key), found, depth + 1);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
