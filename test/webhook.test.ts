// The webhooks: POST /api/dags/:id/trigger (conf as the body, checked against params; bearer
// tokens with roles and grants; optional HMAC-signed calls per DAG) and POST /api/assets/events,
// with JSON errors and the HTTP status of each refusal, and an audit row per attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../server/src/api/server.js';
import { signWebhook } from '../server/src/api/webhook-signature.js';
import { fixedSecretKey } from '../server/src/secrets/key.js';
import { setVariable } from '../server/src/secrets/variables.js';
import { createApiToken } from '../server/src/tokens.js';
import { dagFolder, platformRunning, TEST_SECRET_KEY, type TestPlatform } from './support/platform.js';

const DAGS = {
  'hooks.ts': `
import { z } from 'zod';
import { asset, context, dag, task } from '@updraft/sdk';
export const plain = dag({ id: 'hooked', params: z.object({ region: z.string(), days: z.number().default(7) }) }, () => {
  task({ id: 'echo', isolation: 'none' }, () => context().params)();
});
export const other = dag({ id: 'other' }, () => { task({ id: 't', isolation: 'none', outlets: [asset('s3://hooks/out')] }, () => 1)(); });
export const signed = dag({ id: 'signed', webhook: { secret: { variable: 'github_hook_secret' }, toleranceSeconds: 60 } }, () => {
  task({ id: 'echo', isolation: 'none' }, () => context().conf)();
});
`,
};

const SECRET = 'a shared secret for hooks';

describe('webhooks', () => {
  let platform: TestPlatform;
  let closed: ReturnType<typeof createApi>;
  let open: ReturnType<typeof createApi>;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    platform = await platformRunning(DAGS, 2);
    const secretKey = fixedSecretKey(TEST_SECRET_KEY);
    closed = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { auth: { open: false, failedAuth: { maxFailures: 10_000 }, onWarning: () => undefined }, secretKey });
    open = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { secretKey });
    for (const [name, input] of Object.entries({
      viewer: { role: 'viewer' as const },
      user: { role: 'user' as const },
      userOther: { role: 'user' as const, dagIds: ['other'] },
      op: { role: 'op' as const },
      opHooked: { role: 'op' as const, dagIds: ['hooked'] },
    })) {
      tokens[name] = (await createApiToken(platform.db.prisma, { ...input, name }, 'test')).token;
    }
    await setVariable(platform.db.prisma, { key: 'github_hook_secret', value: SECRET, isSecret: true }, () => TEST_SECRET_KEY);
  });
  afterAll(() => platform.close());

  const post = async (api: ReturnType<typeof createApi>, path: string, body: string | Uint8Array | null, headers: Record<string, string> = {}) => {
    const response = await api.fetch(`http://localhost${path}`, { method: 'POST', headers: body === null ? headers : { 'content-type': 'application/json', ...headers }, body }, { clientAddress: '192.0.2.7' });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const bearer = (name: string) => ({ authorization: `Bearer ${tokens[name]}` });
  const errorOf = (reply: { body: any }) => ({ code: reply.body.errors?.[0]?.extensions?.code, message: reply.body.errors?.[0]?.message as string });

  it('triggers a run with the body as its conf, checked against params, and returns its id', async () => {
    const reply = await post(closed, '/api/dags/hooked/trigger', JSON.stringify({ region: 'emea' }), bearer('user'));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ dagId: 'hooked', dagRunId: expect.any(Number) });
    expect(await platform.waitForRun(reply.body.dagRunId)).toBe('success');
    expect((await platform.taskInstances(reply.body.dagRunId))[0]!.returnValue).toEqual({ region: 'emea', days: 7 });
    const bad = await post(closed, '/api/dags/hooked/trigger', JSON.stringify({ days: 'x' }), bearer('user'));
    expect([bad.status, errorOf(bad)]).toEqual([400, { code: 'BAD_USER_INPUT', message: expect.stringContaining('conf does not match the params of DAG "hooked"') }]);
    // Audited as the mutation is, saying it came through the webhook.
    const row = await platform.db.prisma.auditLog.findFirst({ where: { action: 'triggerDagRun', outcome: 'success' }, orderBy: { id: 'desc' } });
    expect(row).toMatchObject({ target: 'dag:hooked', dagId: 'hooked', details: { via: 'webhook', dagRunId: reply.body.dagRunId }, clientAddress: '192.0.2.7' });
  });

  it('acts as the local admin on an open API, with an empty body as {}', async () => {
    const reply = await post(open, '/api/dags/other/trigger', null);
    expect(reply.status).toBe(200);
    expect(await platform.waitForRun(reply.body.dagRunId)).toBe('success');
  });

  it('refuses with the status that says why', async () => {
    const cases: Array<[string, Promise<{ status: number; body: any }>, number, string, RegExp]> = [
      ['no token', post(closed, '/api/dags/hooked/trigger', '{}'), 401, 'UNAUTHENTICATED', /needs an API token/],
      ['bad token', post(closed, '/api/dags/hooked/trigger', '{}', { authorization: `Bearer upd_000000000000_${'A'.repeat(43)}` }), 401, 'UNAUTHENTICATED', /Invalid API token/],
      ['viewer', post(closed, '/api/dags/hooked/trigger', '{}', bearer('viewer')), 403, 'FORBIDDEN', /needs the user role, and this caller has the viewer role/],
      ['no grant', post(closed, '/api/dags/hooked/trigger', '{}', bearer('userOther')), 403, 'FORBIDDEN', /no grant on DAG "hooked"/],
      ['no grant, no DAG', post(closed, '/api/dags/nope/trigger', '{}', bearer('userOther')), 403, 'FORBIDDEN', /no grant on DAG "nope"/],
      ['unknown DAG', post(closed, '/api/dags/nope/trigger', '{}', bearer('user')), 404, 'NOT_FOUND', /DAG "nope" does not exist/],
      ['text body', post(closed, '/api/dags/other/trigger', 'hello', { ...bearer('user'), 'content-type': 'text/plain' }), 415, 'BAD_USER_INPUT', /Content-Type text\/plain is not accepted/],
      ['malformed JSON', post(closed, '/api/dags/other/trigger', '{"a":', bearer('user')), 400, 'BAD_USER_INPUT', /not valid JSON/],
      ['array conf', post(closed, '/api/dags/other/trigger', '[1]', bearer('user')), 400, 'BAD_USER_INPUT', /conf must be a JSON object, got an array/],
      ['NUL in id', post(closed, '/api/dags/a%00b/trigger', '{}', bearer('user')), 400, 'BAD_USER_INPUT', /contains a NUL character/],
      ['bad escape', post(closed, '/api/dags/%E0%A4%A/trigger', '{}', bearer('user')), 400, 'BAD_USER_INPUT', /not a percent-encoded DAG id/],
      ['unknown path', post(closed, '/api/dags/hooked/run', '{}', bearer('user')), 404, 'NOT_FOUND', /No endpoint at \/api\/dags\/hooked\/run/],
    ];
    for (const [what, reply, status, code, message] of cases) {
      const r = await reply;
      expect({ what, status: r.status, code: r.body.errors?.[0]?.extensions?.code }).toEqual({ what, status, code });
      expect(r.body.errors[0].message).toMatch(message);
    }
    const get = await closed.fetch('http://localhost/api/dags/hooked/trigger', { method: 'GET' });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect(await platform.db.prisma.auditLog.count({ where: { action: 'triggerDagRun', outcome: 'denied', details: { path: ['via'], equals: 'webhook' } } })).toBeGreaterThanOrEqual(4);
  });

  it('bounds the body: 413 past 1 MiB, and deep nesting costs a bounded, quick refusal', async () => {
    const huge = await post(closed, '/api/dags/other/trigger', JSON.stringify({ pad: 'x'.repeat(1_100_000) }), bearer('user'));
    expect([huge.status, errorOf(huge).message]).toEqual([413, expect.stringContaining('larger than 1048576 bytes')]);
    // A streamed body with no Content-Length is cut as it arrives.
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    const streamed = await closed.fetch('http://localhost/api/dags/other/trigger', { method: 'POST', headers: { 'content-type': 'application/json', ...bearer('user') }, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    const started = Date.now();
    const deep = await post(closed, '/api/dags/other/trigger', `{"a":${'['.repeat(500_000)}${']'.repeat(500_000)}}`, bearer('user'));
    expect([deep.status, errorOf(deep).message]).toEqual([400, expect.stringContaining('conf is nested more than 64 levels deep')]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  describe('signed calls', () => {
    const signedPost = (body: string, opts: { timestamp?: number; secret?: string; headers?: Record<string, string> } = {}) => {
      const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
      const signature = `sha256=${signWebhook(opts.secret ?? SECRET, timestamp, body)}`;
      return post(closed, '/api/dags/signed/trigger', body, { 'x-updraft-timestamp': timestamp, 'x-updraft-signature': signature, ...opts.headers });
    };

    it('accepts a valid signature without a token, as a caller limited to that DAG', async () => {
      const reply = await signedPost(JSON.stringify({ ref: 'main' }));
      expect(reply.status).toBe(200);
      expect((await platform.taskInstances(reply.body.dagRunId)).length).toBe(1);
      expect(await platform.db.prisma.auditLog.findFirst({ where: { action: 'triggerDagRun', dagId: 'signed' }, orderBy: { id: 'desc' } })).toMatchObject({ actor: 'webhook:signed', outcome: 'success' });
    });

    it('refuses a missing, wrong, stale or replayed signature', async () => {
      const body = JSON.stringify({ ref: 'main' });
      const missing = await post(closed, '/api/dags/signed/trigger', body, bearer('user'));
      expect([missing.status, errorOf(missing).message]).toEqual([401, expect.stringContaining('requires signed webhook calls')]);
      const wrong = await signedPost(body, { secret: 'not the secret' });
      expect([wrong.status, errorOf(wrong).message]).toEqual([401, expect.stringContaining('does not match')]);
      const tampered = await post(closed, '/api/dags/signed/trigger', '{"ref":"evil"}', {
        'x-updraft-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-updraft-signature': `sha256=${signWebhook(SECRET, Math.floor(Date.now() / 1000), body)}`,
      });
      expect(tampered.status).toBe(401);
      const stale = await signedPost(body, { timestamp: Math.floor(Date.now() / 1000) - 120 });
      expect([stale.status, errorOf(stale).message]).toEqual([401, expect.stringMatching(/is 12[01] s away from the server's clock; at most 60 s is accepted/)]);
      const malformed = await signedPost(body, { headers: { 'x-updraft-signature': 'sha1=abc' } });
      expect([malformed.status, errorOf(malformed).message]).toEqual([401, 'X-Updraft-Signature must read sha256=<64 hex digits>']);

      const timestamp = Math.floor(Date.now() / 1000);
      const first = await signedPost('{"n":1}', { timestamp });
      expect(first.status).toBe(200);
      const replay = await signedPost('{"n":1}', { timestamp });
      expect([replay.status, errorOf(replay).message]).toEqual([409, expect.stringContaining('already accepted')]);
    });

    it('still requires the token to allow it when one is sent', async () => {
      const reply = await signedPost('{}', { headers: bearer('viewer') });
      expect(reply.status).toBe(403);
    });

    it('says when the secret cannot be read, and refuses bad webhook options at deploy', async () => {
      await platform.db.prisma.variable.delete({ where: { key: 'github_hook_secret' } });
      try {
        const reply = await signedPost('{}');
        expect([reply.status, errorOf(reply)]).toEqual([503, { code: 'SECRETS_UNAVAILABLE', message: expect.stringContaining('variable "github_hook_secret" does not exist') }]);
      } finally {
        await setVariable(platform.db.prisma, { key: 'github_hook_secret', value: SECRET, isSecret: true }, () => TEST_SECRET_KEY);
      }
      const bad = await dagFolder({ 'bad_hook.ts': `import { dag } from '@updraft/sdk';\nexport default dag({ id: 'bad_hook', webhook: { secret: { variable: 'no spaces' }, toleranceSeconds: 0 } }, () => {});` });
      const message = (await platform.deploy(bad)).importErrors[0]!.message;
      expect(message).toContain('DAG "bad_hook": webhook.secret');
      expect(message).toContain('DAG "bad_hook": webhook.toleranceSeconds: must be 1 or more');
    });
  });

  it('posts asset events (op, every DAG), which run the DAGs scheduled on them', async () => {
    const event = await post(closed, '/api/assets/events', JSON.stringify({ uri: 's3://hooks/out', extra: { rows: 3 } }), bearer('op'));
    expect(event.status).toBe(201);
    expect(event.body).toEqual({ assetEventId: expect.stringMatching(/^\d+$/), uri: 's3://hooks/out' });
    const stored = await platform.db.prisma.assetEvent.findUniqueOrThrow({ where: { id: BigInt(event.body.assetEventId) } });
    expect([stored.extra, stored.createdBy]).toEqual([{ rows: 3 }, expect.stringMatching(/^token:/)]);
    const refusals: Array<[Promise<{ status: number; body: any }>, number, RegExp]> = [
      [post(closed, '/api/assets/events', JSON.stringify({ uri: 's3://hooks/out' }), bearer('user')), 403, /needs the op role/],
      [post(closed, '/api/assets/events', JSON.stringify({ uri: 's3://hooks/out' }), bearer('opHooked')), 403, /not limited to some DAGs/],
      [post(closed, '/api/assets/events', JSON.stringify({ uri: 's3://hooks/unknown' }), bearer('op')), 404, /does not exist/],
      [post(closed, '/api/assets/events', JSON.stringify({ url: 's3://hooks/out' }), bearer('op')), 400, /must be a JSON object \{ "uri"/],
      [post(closed, '/api/assets/events', JSON.stringify({ uri: 's3://hooks/out', extras: {} }), bearer('op')), 400, /Unknown field\(s\) "extras"/],
      [post(closed, '/api/assets/events', JSON.stringify({ uri: 'no spaces please' }), bearer('op')), 400, /printable ASCII without spaces/],
    ];
    for (const [reply, status, message] of refusals) {
      const r = await reply;
      expect({ status: r.status, message: r.body.errors[0].message }).toEqual({ status, message: expect.stringMatching(message) });
    }
  });
});
