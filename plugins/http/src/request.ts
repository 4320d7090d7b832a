// One HTTP request with a time limit and a response size limit, and the retry loop around it.

/** The server answered with a status the node does not expect. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** No answer within the request's `timeout`. */
export class HttpTimeout extends Error {
  override name = 'HttpTimeout';
}

/** The response body was larger than `maxResponseBytes`. */
export class ResponseTooLarge extends Error {
  override name = 'ResponseTooLarge';
}

export interface RequestSpec {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
  maxResponseBytes: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed when the response says it is JSON, else text. */
  body: unknown;
}

/** Sends one request; the time limit covers the whole exchange, body included (a peer that trickles bytes times out too). */
export async function request(spec: RequestSpec): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(spec.timeoutMs);
  const signal = AbortSignal.any([spec.signal, timeout]);
  try {
    const response = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body, signal, redirect: 'follow' });
    const text = await readCapped(response, spec.maxResponseBytes, spec.url);
    const headers = Object.fromEntries(response.headers);
    const json = /\bjson\b/i.test(headers['content-type'] ?? '');
    let body: unknown = text;
    if (json && text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text; // says JSON, is not: kept as text
      }
    }
    return { status: response.status, headers, body };
  } catch (e) {
    if (timeout.aborted && !spec.signal.aborted) throw new HttpTimeout(`${spec.method} ${show(spec.url)} did not complete within ${spec.timeoutMs} ms`);
    throw e;
  }
}

async function readCapped(response: Response, max: number, url: URL): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await response.body?.cancel();
    throw new ResponseTooLarge(`the response of ${show(url)} is ${declared} bytes, more than maxResponseBytes (${max})`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    size += chunk.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(`the response of ${show(url)} is more than maxResponseBytes (${max}) bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A URL as logged: without its user info and query (which may hold credentials). */
export function show(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * How long a `Retry-After` header asks to wait, in ms (seconds or an HTTP date), or undefined
 * when there is none or it cannot be read.
 */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Statuses worth another attempt: the server is overloaded or failing, or asks to slow down. */
export function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Waits `ms`, or less if `signal` aborts (then throws its reason). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = () => (clearTimeout(timer), reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
