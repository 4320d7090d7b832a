// The HTTP operator (Airflow's HttpOperator) and sensor (HttpSensor).
import { connection, defineOperator, defineSensor, DURATION_PATTERN, NonRetryableError, toMilliseconds, type TaskConnection, type TaskContext } from '@updraft/sdk';
import { z } from 'zod';
import { connectionHeaders, resolveUrl } from './connection.js';
import { HttpStatusError, request, retryable, retryAfterMs, show, sleep, type HttpResponse } from './request.js';

const duration = z.union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'a duration such as "30s", "5m" or a number of milliseconds')]);
const status = z.number().int().min(100).max(599);

const requestFields = {
  /** An absolute http(s) URL, or a path resolved against the connection's base URL. */
  url: z.string().min(1, 'a URL or a path'),
  /** An `http` connection's id: its base URL, basic auth and default headers. */
  connection: z.string().min(1).optional(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string()).optional(),
  /** Added to the URL's query string. */
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** A JSON body (sent with `content-type: application/json`). */
  json: z.unknown().optional(),
  /** A text body, sent as it is. */
  body: z.string().optional(),
  /** Time limit of each request, body included. Default `"30s"`. */
  timeout: duration.default('30s'),
  /** Larger responses fail the request. Default 10 MiB. */
  maxResponseBytes: z.number().int().positive().max(100 * 1024 * 1024).default(10 * 1024 * 1024),
};

function checkRequest(params: { url: string; connection?: string | undefined; json?: unknown; body?: string | undefined }, issues: z.core.$RefinementCtx) {
  if (params.json !== undefined && params.body !== undefined) issues.addIssue({ code: 'custom', path: ['body'], message: 'give json or body, not both' });
  if (params.connection === undefined && !/^https?:\/\/[^/]/i.test(params.url)) {
    issues.addIssue({ code: 'custom', path: ['url'], message: `not an absolute http(s) URL: ${JSON.stringify(params.url.slice(0, 200))} (give a connection to use a path)` });
  } else if (params.connection === undefined && !URL.canParse(params.url)) {
    issues.addIssue({ code: 'custom', path: ['url'], message: `not a valid URL: ${JSON.stringify(params.url.slice(0, 200))}` });
  }
}

/** The HTTP operator's params. */
export const HttpRequestParams = z
  .strictObject({
    ...requestFields,
    /** Statuses that count as success: one, a list, or (default) any 2xx. */
    expectStatus: z.union([status, z.array(status).min(1)]).optional(),
    /** Attempts within one try, for network errors, 5xx and 429. Default 3. */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** Wait before the second attempt, doubled for each next one, unless the server sends Retry-After. Default `"1s"`. */
    retryDelay: duration.default('1s'),
    /** Longest wait between attempts, Retry-After included. Default `"5m"`. */
    maxRetryDelay: duration.default('5m'),
    /** What the node publishes: the body (JSON parsed), `{ status, headers, body }`, or nothing. */
    output: z.enum(['body', 'response', 'none']).default('body'),
  })
  .superRefine(checkRequest);
export type HttpRequestParams = z.input<typeof HttpRequestParams>;

/** What the HTTP sensor waits for: a status, and/or a value in the JSON body. */
const Until = z
  .strictObject({
    status: z.union([status, z.array(status).min(1)]).optional(),
    /** A value in the JSON body, by dotted path (`job.state`, `items.0.id`). */
    json: z
      .strictObject({
        path: z.string().min(1),
        equals: z.unknown().optional(),
        in: z.array(z.unknown()).optional(),
        /** Only that the path has a value (neither null nor missing). Default when neither equals nor in is given. */
        exists: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((until) => until.status !== undefined || until.json !== undefined, 'give a status, a json predicate, or both');

/** The HTTP sensor's params. */
export const HttpSensorParams = z.strictObject({ ...requestFields, until: Until }).superRefine(checkRequest);
export type HttpSensorParams = z.input<typeof HttpSensorParams>;

/**
 * Sends a request and publishes the response's body (JSON parsed). Network errors, 5xx and 429
 * are retried within the try (`maxAttempts`), waiting what `Retry-After` asks; another status
 * than `expectStatus` fails the task with `HttpStatusError`.
 *
 * ```ts
 * httpRequest('create_job')({ connection: 'jobs_api', url: '/jobs', method: 'POST', json: { kind: 'report' }, expectStatus: 201 });
 * ```
 */
export const httpRequest = defineOperator({
  name: 'http_request',
  description: 'Sends an HTTP request; retries 5xx and 429 honouring Retry-After; publishes the response body.',
  params: HttpRequestParams,
  run: async (params, ctx) => {
    const conn = params.connection === undefined ? null : await connection(params.connection);
    const spec = toSpec(params, conn, ctx);
    const delays = { base: toMilliseconds(params.retryDelay), max: toMilliseconds(params.maxRetryDelay) };
    let response: HttpResponse | undefined;
    let failure: Error | undefined;
    let wait = 0;
    for (let attempt = 1; attempt <= params.maxAttempts; attempt++) {
      if (attempt > 1) {
        ctx.log.info(`attempt ${attempt} of ${params.maxAttempts} in ${wait} ms`);
        await sleep(wait, ctx.signal);
      }
      const started = Date.now();
      try {
        response = await request(spec);
        failure = undefined;
        ctx.log.info(`${spec.method} ${show(spec.url)} answered ${response.status} in ${Date.now() - started} ms`, { attempt });
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        response = undefined;
        failure = e as Error;
        ctx.log.warn(`${spec.method} ${show(spec.url)} failed: ${failure.message}`, { attempt });
      }
      if (response && !retryable(response.status)) break;
      const asked = response ? retryAfterMs(response.headers['retry-after']) : undefined;
      wait = Math.min(asked ?? delays.base * 2 ** (attempt - 1), delays.max);
    }
    if (!response) throw failure!;
    if (!expected(params.expectStatus, response.status)) {
      const snippet = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      throw new HttpStatusError(`task "${ctx.taskId}": ${spec.method} ${show(spec.url)} answered ${response.status}, expected ${describeExpected(params.expectStatus)}: ${snippet.slice(0, 500)}`, response.status);
    }
    if (params.output === 'none') return null;
    return params.output === 'body' ? response.body : response;
  },
});

/**
 * Requests a URL every `interval` until the answer has the given status or JSON value, and
 * publishes the body that matched. Network errors and 5xx count as "not yet".
 *
 * ```ts
 * waitForJob({ id: 'wait', mode: 'reschedule', interval: '1m' })({ connection: 'jobs_api', url: '/jobs/42', until: { json: { path: 'state', equals: 'done' } } });
 * ```
 */
export const httpSensor = defineSensor({
  name: 'http_sensor',
  description: 'Requests a URL until it answers with a status or a JSON value.',
  params: HttpSensorParams,
  poke: async (params, ctx) => {
    const conn = params.connection === undefined ? null : await connection(params.connection);
    const spec = toSpec(params, conn, ctx);
    let response: HttpResponse;
    try {
      response = await request(spec);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      ctx.log.warn(`${spec.method} ${show(spec.url)} failed: ${(e as Error).message}; trying again later`);
      return false;
    }
    const statusOk = params.until.status === undefined || expected(params.until.status, response.status);
    const jsonOk = params.until.json === undefined || matches(params.until.json, response.body);
    ctx.log.info(`${spec.method} ${show(spec.url)} answered ${response.status}${statusOk && jsonOk ? ': done' : ': not yet'}`);
    // A match publishes the body (or true, when the body itself is empty or falsy).
    return statusOk && jsonOk ? (response.body || true) : false;
  },
});

function toSpec(params: z.output<typeof HttpRequestParams> | z.output<typeof HttpSensorParams>, conn: TaskConnection | null, ctx: TaskContext) {
  let url: URL;
  try {
    url = resolveUrl(conn, params.url);
  } catch {
    throw new NonRetryableError(`task "${ctx.taskId}": url ${JSON.stringify(params.url.slice(0, 200))} is not a valid URL${conn ? ` against connection "${conn.id}"` : ''}`);
  }
  for (const [name, value] of Object.entries(params.query ?? {})) url.searchParams.append(name, String(value));
  const headers: Record<string, string> = { ...connectionHeaders(conn) };
  for (const [name, value] of Object.entries(params.headers ?? {})) headers[name.toLowerCase()] = value;
  let body = params.body;
  if (params.json !== undefined) {
    body = JSON.stringify(params.json);
    headers['content-type'] ??= 'application/json';
  }
  headers.accept ??= 'application/json, text/plain;q=0.9, */*;q=0.8';
  return { url, method: params.method, headers, body, timeoutMs: toMilliseconds(params.timeout), signal: ctx.signal, maxResponseBytes: params.maxResponseBytes };
}

function expected(expect: number | number[] | undefined, status: number): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return Array.isArray(expect) ? expect.includes(status) : expect === status;
}

function describeExpected(expect: number | number[] | undefined): string {
  if (expect === undefined) return 'a 2xx status';
  return Array.isArray(expect) ? expect.join(' or ') : String(expect);
}

function matches(predicate: { path: string; equals?: unknown; in?: unknown[]; exists?: boolean }, body: unknown): boolean {
  let value: unknown = body;
  for (const key of predicate.path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) {
      value = undefined;
      break;
    }
    value = (value as Record<string, unknown>)[key];
  }
  if (predicate.equals !== undefined) return JSON.stringify(value) === JSON.stringify(predicate.equals);
  if (predicate.in !== undefined) return predicate.in.some((candidate) => JSON.stringify(candidate) === JSON.stringify(value));
  const exists = value !== undefined && value !== null;
  return predicate.exists === false ? !exists : exists;
}
