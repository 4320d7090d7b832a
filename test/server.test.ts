// `updraft server` (the production entry: API + scheduler, tokens required) and `updraft tokens`,
// through the real binary on a real port, against a test database.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningUpdraft, spawnUntilUp, updraft } from './support/cli.js';
import { createTestPlatform, dagFolder, TEST_SCRATCH, type TestPlatform } from './support/platform.js';

const dagFile = (id: string, tag: string) =>
  `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: '${id}', tags: ['${tag}'] }, () => { task('only', () => 1)(); });\n`;

function startServer(env: Record<string, string>, args: string[] = []): Promise<RunningUpdraft> {
  // Up once its banner (open, or tokens required) is out.
  return spawnUntilUp(['server', '--port', '0', ...args], { ...process.env, ...env }, /GraphQL at (\S+),.*\n(?:The API requires a token.*|[^]*└─*┘)\n/);
}

async function post(url: string, query: string, token?: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const SERVER_KEY = 'server-test-secret-key-0123456789-abcdefghij';

describe('updraft server and updraft tokens', () => {
  let platform: TestPlatform;
  let env: Record<string, string>;
  beforeAll(async () => {
    platform = await createTestPlatform();
    const { importErrors } = await platform.deploy(await dagFolder({ 'alpha.ts': dagFile('alpha', 'team-a'), 'beta.ts': dagFile('beta', 'team-b') }));
    expect(importErrors).toEqual([]);
    env = { DATABASE_URL: platform.db.url, UPDRAFT_HOME: path.join(TEST_SCRATCH, 'server-home'), UPDRAFT_TOKEN: '', UPDRAFT_SECRET_KEY: SERVER_KEY };
  });
  afterAll(() => platform?.close());

  it('refuses to start open on 0.0.0.0, before touching the database', async () => {
    const refused = await updraft(['server', '--open', '--host', '0.0.0.0', '--port', '0'], { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(refused.stderr).toContain(
      'updraft: An open API (no token required) listens only on a loopback address (127.0.0.1, ::1, localhost), not 0.0.0.0: anyone who could reach it could do anything. ' +
        'Require tokens instead (`updraft server` without --open; create them with `updraft tokens create`), or listen on 127.0.0.1',
    );
    expect(refused.code).toBe(1);
  });

  it('refuses to start without UPDRAFT_SECRET_KEY, or with one too short to be a key', async () => {
    const missing = await updraft(['server', '--port', '0'], { ...env, UPDRAFT_SECRET_KEY: undefined });
    expect(missing.stderr).toContain(
      'updraft: updraft server needs UPDRAFT_SECRET_KEY: the key that encrypts secret variables and connection passwords, at least 32 characters of random text (e.g. `openssl rand -base64 32`). Give every worker the same key.',
    );
    expect(missing.code).toBe(1);
    const short = await updraft(['server', '--port', '0'], { ...env, UPDRAFT_SECRET_KEY: 'too-short' });
    expect(short.stderr).toContain('updraft: UPDRAFT_SECRET_KEY must hold at least 32 characters of random text (e.g. the output of `openssl rand -base64 32`); it has 9');
    expect(short.code).toBe(1);
  });

  it('requires a token on every request, and answers only what its role and grants allow', async () => {
    const server = await startServer(env);
    try {
      expect(server.output()).toContain('The API requires a token (Authorization: Bearer <token>) on every request');
      expect(server.output()).toContain('Introspection is off');
      const anonymous = await post(server.url, `{ dags(first: 10) { edges { node { id } } } }`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');

      // Tokens are created on the local database (no server needed) and printed once.
      const created = await updraft(['tokens', 'create', '--role', 'viewer', '--dags', 'alpha', '--name', 'ci-viewer', '--expires', '30d'], env);
      expect(created.code).toBe(0);
      const viewer = created.stdout.trim();
      expect(viewer).toMatch(/^upd_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const viewerPrefix = viewer.slice(4, 16);
      expect(created.stderr).toMatch(new RegExp(`^Created API token upd_${viewerPrefix} "ci-viewer": role viewer, DAGs alpha, expires \\d{4}-`, 'm'));
      expect(created.stderr).toContain('This is the only time the token is shown: store it now.');
      const teamB = (await updraft(['tokens', 'create', '--role', 'user', '--tags', 'team-b'], env)).stdout.trim();
      const admin = (await updraft(['tokens', 'create', '--role', 'admin', '--name', 'root'], env)).stdout.trim();

      const seen = await post(server.url, `{ dags(first: 10) { edges { node { id } } } }`, viewer);
      expect(seen.body).toEqual({ data: { dags: { edges: [{ node: { id: 'alpha' } }] } } });
      const trigger = `mutation ($input: TriggerDagRunInput!) { triggerDagRun(input: $input) { dagRun { id } } }`;
      expect((await post(server.url, trigger, viewer, { input: { dagId: 'alpha' } })).body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await post(server.url, `{ dag(id: "beta") { id } }`, viewer)).body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await post(server.url, `{ __schema { queryType { name } } }`, admin)).body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      // Secrets are sealed with the server's key and never come back.
      const setSecret = `mutation { setVariable(input: { key: "server_token", value: "${SERVER_KEY}-value" }) { variable { key value isSecret } } }`;
      expect((await post(server.url, setSecret, admin)).body.data.setVariable.variable).toEqual({ key: 'server_token', value: null, isSecret: true });
      expect((await platform.db.prisma.variable.findUniqueOrThrow({ where: { key: 'server_token' } })).encryptedValue).not.toBeNull();
      // No worker runs in the server.
      expect((await post(server.url, `{ workers(first: 10) { edges { node { id } } } }`, admin)).body.data.workers.edges).toEqual([]);

      // The CLI's --url commands take --token or UPDRAFT_TOKEN.
      const listed = await updraft(['dags', 'list', '--url', server.url, '--token', viewer], env);
      expect(listed.stdout).toMatch(/^alpha\s+alpha\.ts/m);
      expect(listed.stdout).not.toMatch(/^beta/m);
      expect((await updraft(['dags', 'list', '--url', server.url], { ...env, UPDRAFT_TOKEN: viewer })).stdout).toMatch(/^alpha\s+alpha\.ts/m);
      const noToken = await updraft(['dags', 'list', '--url', server.url], env);
      expect(noToken.stderr).toContain('updraft: Query.dags needs an API token: send "Authorization: Bearer <token>"');
      expect(noToken.code).toBe(1);
      const triggered = await updraft(['dags', 'trigger', 'beta', '--url', server.url, '--token', teamB], env);
      expect(triggered.stdout).toMatch(/^Triggered beta run \d+/);
      const refused = await updraft(['dags', 'trigger', 'alpha', '--url', server.url, '--token', teamB], env);
      expect(refused.stderr).toMatch(/^updraft: Mutation\.triggerDagRun: token upd_[0-9a-f]{12} has no grant on DAG "alpha"$/m);
      expect(refused.code).toBe(1);

      // Listing shows no secret; revoking takes effect at once.
      const list = await updraft(['tokens', 'list'], env);
      expect(list.stdout).toMatch(new RegExp(`^upd_${viewerPrefix}\\s+ci-viewer\\s+viewer\\s+DAGs alpha\\s+active\\s+\\d{4}-`, 'm'));
      expect(list.stdout).toMatch(/\suser\s+tags team-b\s+active\s+-\s/);
      for (const token of [viewer, teamB, admin]) expect(list.stdout).not.toContain(token.slice(17));
      const revoked = await updraft(['tokens', 'revoke', `upd_${viewerPrefix}`], env);
      expect(revoked.stdout).toMatch(new RegExp(`^Revoked upd_${viewerPrefix} "ci-viewer" at \\d{4}-`));
      const after = await post(server.url, `{ dags(first: 10) { edges { node { id } } } }`, viewer);
      expect(after.status).toBe(401);
      expect(after.body.errors[0].message).toBe(`API token upd_${viewerPrefix} has been revoked`);
      expect((await updraft(['tokens', 'list'], env)).stdout).not.toContain(viewerPrefix);
      expect((await updraft(['tokens', 'list', '--all'], env)).stdout).toMatch(new RegExp(`^upd_${viewerPrefix}.*\\srevoked\\s`, 'm'));

      // What the tokens did is in the audit log, the local CLI's actions as "local".
      const audit = await post(server.url, `{ auditLog(first: 100) { edges { node { actor action target outcome } } } }`, admin);
      const rows = audit.body.data.auditLog.edges.map((e: any) => e.node);
      expect(rows).toContainEqual({ actor: 'local', action: 'revokeApiToken', target: `api_token:${viewerPrefix}`, outcome: 'success' });
      expect(rows).toContainEqual({ actor: `token:${teamB.slice(4, 16)}`, action: 'triggerDagRun', target: 'dag:alpha', outcome: 'denied' });
      expect(rows).toContainEqual({ actor: `token:${teamB.slice(4, 16)}`, action: 'triggerDagRun', target: 'dag:beta', outcome: 'success' });
    } finally {
      const code = await server.stop();
      if (code !== 0) throw new Error(`updraft server exited with ${code}:\n${server.output()}`);
    }
  }, 180_000); // a dozen CLI processes: slow on a loaded machine

  it('tokens commands refuse bad input with clear errors', async () => {
    const role = await updraft(['tokens', 'create', '--role', 'king'], env);
    expect(role.stderr).toContain("option '--role <role>' argument 'king' is invalid. must be one of viewer, user, op, admin");
    expect(role.code).not.toBe(0);
    const expires = await updraft(['tokens', 'create', '--role', 'viewer', '--expires', 'soon'], env);
    expect(expires.stderr).toContain('must be a duration such as "30d" or "12h", or an ISO date such as 2027-01-31');
    const past = await updraft(['tokens', 'create', '--role', 'viewer', '--expires', '2001-01-01'], env);
    expect(past.stderr).toContain('2001-01-01 is in the past');
    const unknown = await updraft(['tokens', 'revoke', 'abcdefabcdef'], env);
    expect(unknown.stderr).toContain('updraft: No API token has the prefix abcdefabcdef');
    expect(unknown.code).toBe(1);
    const local = await updraft(['dags', 'list', '--token', 'upd_x'], env);
    expect(local.stderr).toContain('updraft: --token is for an API given with --url; on the local database the CLI needs no token');
    expect(local.code).toBe(1);
  }, 120_000);

  it('--open on loopback serves without tokens, with a banner saying so', async () => {
    const server = await startServer(env, ['--open']);
    try {
      expect(server.output()).toContain('The API is OPEN: anyone on this machine can use it as an admin, without a token.');
      expect((await post(server.url, `{ dags(first: 10) { edges { node { id } } } }`)).body.data.dags.edges).toHaveLength(2);
    } finally {
      const code = await server.stop();
      if (code !== 0) throw new Error(`updraft server exited with ${code}:\n${server.output()}`);
    }
  }, 120_000);
});
