// Webhooks: plain HTTP endpoints for services that cannot speak GraphQL, served beside it.
//   POST /api/dags/<dag id>/trigger   body: the run's conf (a JSON object; empty: {})
//        → 200 { "dagId", "dagRunId", "runId" }
//   POST /api/assets/events           body: { "uri": "<asset uri>", "extra": { … } }
//        → 201 { "assetEventId", "uri" }
// They authenticate as the GraphQL API does (authentication.ts: bearer tokens, open mode,
// failed-authentication limits), authorize with auth.ts (a trigger needs the user role and a
// grant on the DAG, as triggerDagRun does; an asset event the op role and a token not limited
// to some DAGs, as createAssetEvent does), and are audited as those mutations are, with
// `details.via: "webhook"`. A DAG may also require signed calls (webhook-signature.ts); a valid
// signature then authenticates a call without a token, for that DAG only. Errors are the API's
// JSON (`{ "errors": [{ "message", "extensions": { "code" } }] }`) with the HTTP status that
// says what went wrong: 400, 401, 403, 404, 405, 409, 413, 415, 503.
import type { Pool } from 'pg';
import type { Plugin } from 'graphql-yoga';
import { postAssetEvent } from '../assets/events.js';
import { type Caller, hasRole, mayAccessDag } from '../auth.js';
import { type AuditOutcome, recordAudit } from '../audit.js';
import type { Db } from '../db/prisma.js';
import { loadStructure } from '../dags/versions.js';
import { isConnectionError, UpdraftError } from '../errors.js';
import { inTransaction } from '../db/transaction.js';
import { RunChanges } from '../live/notifications.js';
import { checkConf, checkDagId, insertDagRun, MAX_CONF_BYTES, triggerDagRun } from '../runs.js';
import type { SecretKeySource } from '../secrets/key.js';
import type { authentication } from './authentication.js';
import { clientAddressOf } from './authentication.js';
import { errorResponse } from './http.js';
import { recordDelivery, verifyWebhookSignature, type WebhookStructure } from './webhook-signature.js';

/** Largest body a webhook reads: a run conf's limit (1 MiB); a longer body is refused with 413 before it is parsed. */
export const MAX_WEBHOOK_BODY_BYTES = MAX_CONF_BYTES;

type Auth = ReturnType<typeof authentication>;
type FetchAPI = { Response: typeof Response };

const TRIGGER_PATH = /^\/api\/dags\/([^/]+)\/trigger\/?$/;
const ASSET_EVENTS_PATH = /^\/api\/assets\/events\/?$/;

/** A refusal answered as JSON with its status. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The Yoga plugin that answers `/api/…` requests. */
export function webhooks(db: { prisma: Db; pool: Pool }, auth: Auth, secretKey: SecretKeySource, onWarning?: (message: string) => void): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI, serverContext }) {
      if (!url.pathname.startsWith('/api/')) return;
      const clientAddress = clientAddressOf(serverContext);
      const trigger = TRIGGER_PATH.exec(url.pathname);
      if (trigger) return endResponse(await triggerDag(db, auth, secretKey, request, trigger[1]!, clientAddress, fetchAPI, onWarning));
      if (ASSET_EVENTS_PATH.test(url.pathname)) return endResponse(await assetEvent(db, auth, request, clientAddress, fetchAPI, onWarning));
      endResponse(errorResponse(fetchAPI, 404, 'NOT_FOUND', `No endpoint at ${url.pathname}: POST /api/dags/<dag id>/trigger or POST /api/assets/events`));
    },
  };
}

async function triggerDag(
  db: { prisma: Db; pool: Pool },
  auth: Auth,
  secretKey: SecretKeySource,
  request: Request,
  rawDagId: string,
  clientAddress: string | null,
  fetchAPI: FetchAPI,
  onWarning?: (message: string) => void,
): Promise<Response> {
  let caller: Caller | null = null;
  let dagId = rawDagId;
  const audit = (outcome: AuditOutcome, details: Record<string, unknown> = {}) =>
    caller && recordAudit(db.prisma, { caller, action: 'triggerDagRun', target: `dag:${dagId}`, dagId, outcome, details: { via: 'webhook', ...details }, clientAddress }, onWarning);
  try {
    checkPost(request);
    try {
      dagId = decodeURIComponent(rawDagId);
    } catch {
      throw new Refusal(400, 'BAD_USER_INPUT', `${JSON.stringify(rawDagId.slice(0, 80))} is not a percent-encoded DAG id`);
    }
    checkDagId(dagId);
    const authenticated = await auth.authenticate(request, clientAddress, fetchAPI);
    if (authenticated instanceof fetchAPI.Response) return authenticated;
    caller = authenticated.caller;
    const body = await readBody(request);
    const version = await db.prisma.dagVersion.findFirst({ where: { dagId }, orderBy: { versionNumber: 'desc' }, select: { id: true } });
    const webhook: WebhookStructure | undefined = version ? (await loadStructure(db.pool, version.id)).webhook : undefined;
    let delivery: Buffer | undefined;
    if (webhook) {
      try {
        delivery = await verifyWebhookSignature(db.pool, secretKey, dagId, webhook, request.headers, body);
      } catch (e) {
        if (e instanceof UpdraftError && e.code === 'UNAUTHENTICATED') await auth.failed(clientAddress, `webhook signature: ${e.message}`);
        throw e;
      }
      // A valid signature vouches for this DAG's trigger; a token, when sent, must allow it too.
      if (request.headers.get('authorization') === null) caller = { actor: `webhook:${dagId}`, name: null, role: 'user', grants: { dagIds: [dagId], tags: [] } };
    }
    await authorize(db.prisma, caller, 'user', dagId, `POST /api/dags/${dagId}/trigger`);
    if (!version) throw new Refusal(404, 'NOT_FOUND', `DAG "${dagId}" does not exist; deploy it first (\`updraft deploy <dir>\`)`);
    const conf = parseJson(body, request, {});
    const dagRunId = delivery ? await triggerSigned(db.pool, dagId, conf, delivery) : await triggerDagRun(db.pool, { dagId, conf });
    await audit('success', { dagRunId });
    return json(fetchAPI, 200, { dagId, dagRunId });
  } catch (e) {
    const response = refusalResponse(e, fetchAPI);
    await audit(outcomeOf(e));
    return response;
  }
}

async function assetEvent(db: { prisma: Db; pool: Pool }, auth: Auth, request: Request, clientAddress: string | null, fetchAPI: FetchAPI, onWarning?: (message: string) => void): Promise<Response> {
  let caller: Caller | null = null;
  let uri: string | null = null;
  const audit = (outcome: AuditOutcome, details: Record<string, unknown> = {}) =>
    caller && recordAudit(db.prisma, { caller, action: 'createAssetEvent', target: uri === null ? null : `asset:${uri}`, outcome, details: { via: 'webhook', ...details }, clientAddress }, onWarning);
  try {
    checkPost(request);
    const authenticated = await auth.authenticate(request, clientAddress, fetchAPI);
    if (authenticated instanceof fetchAPI.Response) return authenticated;
    caller = authenticated.caller;
    await authorize(db.prisma, caller, 'op', null, 'POST /api/assets/events');
    const input = parseJson(await readBody(request), request, undefined);
    if (typeof input !== 'object' || input === null || Array.isArray(input) || typeof (input as { uri?: unknown }).uri !== 'string') {
      throw new Refusal(400, 'BAD_USER_INPUT', 'The body must be a JSON object { "uri": "<asset uri>", "extra": { … } }');
    }
    const { uri: given, extra, ...rest } = input as { uri: string; extra?: unknown };
    uri = given;
    if (Object.keys(rest).length > 0) throw new Refusal(400, 'BAD_USER_INPUT', `Unknown field(s) ${Object.keys(rest).slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}: the body takes "uri" and "extra"`);
    const event = await postAssetEvent(db.pool, { uri: given, extra }, caller.actor);
    await audit('success', { assetEventId: event.id });
    return json(fetchAPI, 201, { assetEventId: event.id, uri: event.uri });
  } catch (e) {
    const response = refusalResponse(e, fetchAPI);
    await audit(outcomeOf(e));
    return response;
  }
}

/**
 * A signed call's run, with its delivery booked in the run's own transaction: replayed, the
 * call is refused (409); if the run could not be created, the sender's retry is accepted.
 */
async function triggerSigned(pool: Pool, dagId: string, conf: unknown, delivery: Buffer): Promise<number> {
  checkConf(conf);
  const changes = new RunChanges();
  return inTransaction(
    pool,
    async (client) => {
      await recordDelivery(client, delivery);
      const run = await insertDagRun(client, { dagId, conf, runType: 'manual', logicalDate: null }, changes);
      if (!run) throw new Refusal(409, 'BAD_USER_INPUT', `DAG "${dagId}" already has a run at this logical date; try again`);
      return run.id;
    },
    () => changes.notifications(),
  );
}

/** The caller's role and grant, decided by auth.ts; `dagId` null: a token not limited to some DAGs. */
async function authorize(prisma: Db, caller: Caller, role: 'user' | 'op', dagId: string | null, what: string): Promise<void> {
  if (caller.role === null) {
    throw new Refusal(401, 'UNAUTHENTICATED', `${what} needs an API token: send "Authorization: Bearer <token>"${dagId ? ' (or a signed call, if the DAG sets webhook.secret)' : ''}`, { 'www-authenticate': 'Bearer' });
  }
  if (!hasRole(caller, role)) throw new Refusal(403, 'FORBIDDEN', `${what} needs the ${role} role, and this caller has the ${caller.role} role`);
  if (dagId === null ? caller.grants !== null : !(await mayAccessDag(prisma, caller, dagId))) {
    throw new Refusal(403, 'FORBIDDEN', dagId === null ? `${what} needs a token that is not limited to some DAGs` : `${what}: this caller has no grant on DAG "${dagId}"`);
  }
}

function checkPost(request: Request): void {
  if (request.method !== 'POST') throw new Refusal(405, 'BAD_USER_INPUT', `Send POST (not ${request.method})`, { allow: 'POST' });
}

/** The raw body, at most MAX_WEBHOOK_BODY_BYTES (413 past it, before reading further). */
async function readBody(request: Request): Promise<Buffer> {
  const tooLarge = () => new Refusal(413, 'BAD_USER_INPUT', `The body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes (1 MiB), the most a webhook reads`);
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > MAX_WEBHOOK_BODY_BYTES) throw tooLarge();
  if (!request.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_WEBHOOK_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The body as JSON (`empty` for an empty body); 415 unless it is sent as application/json, 400 when it does not parse. */
function parseJson(body: Buffer, request: Request, empty: unknown): unknown {
  if (body.length === 0 && empty !== undefined) return empty;
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new Refusal(415, 'BAD_USER_INPUT', `Content-Type ${type ?? '(none)'} is not accepted: send application/json`);
  try {
    // JSON.parse is not recursive in V8: deep nesting costs time linear in the (bounded) body; checkConf bounds the depth kept.
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new Refusal(400, 'BAD_USER_INPUT', `The body is not valid JSON: ${(e as Error).message}`);
  }
}

function json(fetchAPI: FetchAPI, status: number, body: unknown): Response {
  return new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

const STATUS_OF_CODE: Record<string, number> = { BAD_USER_INPUT: 400, NOT_FOUND: 404, UNAUTHENTICATED: 401, FORBIDDEN: 403, SECRETS_UNAVAILABLE: 503, SERVICE_UNAVAILABLE: 503 };

function refusalResponse(e: unknown, fetchAPI: FetchAPI): Response {
  if (e instanceof Refusal) return errorResponse(fetchAPI, e.status, e.code, e.message, e.headers);
  if (e instanceof UpdraftError) {
    const http = e.extensions['http'] as { status?: number; headers?: Record<string, string> } | undefined;
    return errorResponse(fetchAPI, http?.status ?? STATUS_OF_CODE[e.code] ?? 400, e.code, e.message, http?.headers ?? {});
  }
  if (isConnectionError(e)) return errorResponse(fetchAPI, 503, 'SERVICE_UNAVAILABLE', 'The metadata database is unreachable; retry shortly');
  return errorResponse(fetchAPI, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
}

/** As the audit plugin has it: refusals are `denied`, errors a caller can fix keep their message. */
function outcomeOf(e: unknown): AuditOutcome {
  const code = e instanceof Refusal ? e.code : e instanceof UpdraftError ? e.code : undefined;
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return 'denied';
  if (code !== undefined) return `failed: ${(e as Error).message}`;
  return 'failed: Unexpected error.';
}
