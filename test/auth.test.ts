// Authentication, authorization and the audit log of the API, through its handler: every
// mutation and query × every kind of caller, DAG grants on lists and single objects, token
// expiry and revocation, the failed-authentication rate limit, and the audit rows.
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import AuditPlugin from '../server/src/api/audit-plugin.js';
import type { AuthOptions } from '../server/src/api/authentication.js';
import { schema } from '../server/src/api/schema/index.js';
import { createApi } from '../server/src/api/server.js';
import { hasRole, type Role, ROLES } from '../server/src/auth.js';
import { fixedSecretKey } from '../server/src/secrets/key.js';
import { createApiToken, revokeApiToken, type ApiTokenInput } from '../server/src/tokens.js';
import { createBackfill } from '../server/src/backfill.js';
import { createTestPlatform, dagFolder, TEST_SECRET_KEY, type TestPlatform, writeDagFiles } from './support/platform.js';

type Api = ReturnType<typeof createApi>;
interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

const dagFile = (id: string, tag: string) =>
  `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: '${id}', tags: ['${tag}'], schedule: '@daily', maxActiveRuns: 1000 }, () => { task('only', () => 1)(); });\n`;

let platform: TestPlatform;
let dagsDir: string;
/** Run ids of each DAG, triggered in beforeAll. */
let alphaRun: string;
let betaRun: string;
let sampleBackfill: number;

/** Tokens by what they are for; each is `upd_…`. */
const tokens: Record<string, string> = {};

async function makeToken(input: ApiTokenInput): Promise<{ token: string; prefix: string }> {
  const { token, info } = await createApiToken(platform.db.prisma, input, 'test');
  return { token, prefix: info.prefix };
}

function closedApi(auth: AuthOptions = {}): Api {
  // A generous failure limit: the matrix below sends many calls without a token.
  return createApi(
    { prisma: platform.db.prisma, pool: platform.pool },
    { auth: { open: false, introspection: false, failedAuth: { maxFailures: 10_000 }, ...auth }, secretKey: fixedSecretKey(TEST_SECRET_KEY) },
  );
}

async function call(api: Api, query: string, variables?: Record<string, unknown>, opts: { token?: string; authorization?: string; client?: string } = {}): Promise<Reply> {
  const authorization = opts.authorization ?? (opts.token ? `Bearer ${opts.token}` : undefined);
  const response = await api.fetch(
    'http://test/graphql',
    { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ query, variables }) },
    { clientAddress: opts.client ?? '192.0.2.10' },
  );
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const codeOf = (reply: Reply) => reply.body.errors?.[0]?.extensions?.code ?? null;

beforeAll(async () => {
  platform = await createTestPlatform();
  dagsDir = await dagFolder({ 'alpha.ts': dagFile('alpha', 'team-a'), 'beta.ts': dagFile('beta', 'team-b') });
  const { importErrors } = await platform.deploy(dagsDir);
  expect(importErrors).toEqual([]);
  alphaRun = String(await platform.trigger('alpha'));
  sampleBackfill = (await createBackfill(platform.pool, { dagId: 'alpha', from: new Date('1999-01-01T00:00:00Z'), to: new Date('1999-01-01T00:00:00Z') })).backfillId;
  betaRun = String(await platform.trigger('beta'));
  // A file of alpha that breaks, and a new file that never loaded: import errors of each kind.
  await writeDagFiles(dagsDir, { 'alpha.ts': `${dagFile('alpha', 'team-a')}\nthrow new Error('alpha broke');\n`, 'broken.ts': `import '@updraft/sdk';\nthrow new Error('never loaded');\n` });
  expect((await platform.deploy(dagsDir)).importErrors.map((e) => e.fileName).sort()).toEqual(['alpha.ts', 'broken.ts']);

  for (const role of ROLES) tokens[role] = (await makeToken({ role, name: `${role}-all` })).token;
  for (const role of ROLES) tokens[`${role}Beta`] = (await makeToken({ role, name: `${role}-beta`, dagIds: ['beta'] })).token;
  tokens.userAlpha = (await makeToken({ role: 'user', name: 'user-alpha', dagIds: ['alpha'] })).token;
  tokens.opAlpha = (await makeToken({ role: 'op', name: 'op-alpha', dagIds: ['alpha'] })).token;
  tokens.viewerTeamB = (await makeToken({ role: 'viewer', name: 'viewer-team-b', tags: ['team-b'] })).token;
  await platform.db.prisma.variable.create({ data: { key: 'matrix_sample', value: 'v' } });
  await platform.db.prisma.connection.create({ data: { id: 'matrix_sample', type: 'http' } });
  await platform.db.prisma.asset.create({ data: { uri: 's3://matrix/sample' } });
});
afterAll(() => platform?.close());

/** One sample call per mutation, with the role it needs and the DAG it acts on (null: none). */
interface MutationCase {
  role: Role;
  dagId: string | null;
  query: string;
  variables(): Promise<Record<string, unknown>>;
  /** The audit row's target for these variables (after a success). */
  target: RegExp;
  /** Why a token of the right role limited to DAG beta is refused. */
  noGrant: RegExp;
}

let backfillYear = 2000;
/** A fresh backfill of alpha (one day of a year of its own), for cancelBackfill. */
const alphaBackfill = async () =>
  (await createBackfill(platform.pool, { dagId: 'alpha', from: new Date(Date.UTC(++backfillYear, 0, 1)), to: new Date(Date.UTC(backfillYear, 0, 1)) })).backfillId;

/** A fresh run of alpha, for actions that end runs. */
const freshAlphaRun = async () => String(await platform.trigger('alpha'));
let doomed = 0;
/** A DAG (tagged team-a, inactive so that lists do not show it) for deleteDag to delete. */
async function doomedDag(): Promise<string> {
  const id = `doomed_${++doomed}`;
  await platform.db.prisma.dag.create({ data: { id, source: 'doomed', fileName: 'doomed.ts', tags: ['team-a'], isActive: false } });
  return id;
}
let doomedNames = 0;
/** A variable and a connection for deleteVariable / deleteConnection to delete. */
async function doomedVariable(): Promise<string> {
  const key = `doomed_${++doomedNames}`;
  await platform.db.prisma.variable.create({ data: { key, value: 'v' } });
  return key;
}
async function doomedPool(): Promise<string> {
  const name = `doomed_${++doomedNames}`;
  await platform.db.prisma.pool.create({ data: { name, slots: 1 } });
  return name;
}
async function doomedConnection(): Promise<string> {
  const id = `doomed_${++doomedNames}`;
  await platform.db.prisma.connection.create({ data: { id, type: 'http' } });
  return id;
}
const NO_GRANT_ON_ALPHA = /has no grant on DAG "alpha"/;
const NO_GRANT_ON_RUN = /has no grant on the DAG of run \d+/;
const NOT_EVERY_DAG = /needs a token that is not limited to some DAGs/;

const MUTATIONS: Record<string, MutationCase> = {
  createAssetEvent: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: CreateAssetEventInput!) { createAssetEvent(input: $input) { assetEvent { id } } }`,
    variables: async () => ({ input: { uri: 's3://matrix/sample', extra: { by: 'the matrix' } } }),
    target: /^asset:s3:\/\/matrix\/sample$/,
    noGrant: NOT_EVERY_DAG,
  },
  triggerDagRun: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: TriggerDagRunInput!) { triggerDagRun(input: $input) { dagRun { id dagId } } }`,
    variables: async () => ({ input: { dagId: 'alpha', conf: {} } }),
    target: /^dag:alpha$/,
    noGrant: NO_GRANT_ON_ALPHA,
  },
  setDagPaused: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: SetDagPausedInput!) { setDagPaused(input: $input) { id paused } }`,
    variables: async () => ({ input: { dagId: 'alpha', paused: false } }),
    target: /^dag:alpha$/,
    noGrant: NO_GRANT_ON_ALPHA,
  },
  clearTaskInstances: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: ClearTaskInstancesInput!) { clearTaskInstances(input: $input) { changed } }`,
    variables: async () => ({ input: { dagRunId: await freshAlphaRun(), taskIds: ['only'] } }),
    target: /^dag_run:\d+$/,
    noGrant: NO_GRANT_ON_RUN,
  },
  markTaskInstances: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: MarkTaskInstancesInput!) { markTaskInstances(input: $input) { changed } }`,
    variables: async () => ({ input: { dagRunId: await freshAlphaRun(), taskIds: ['only'], state: 'success' } }),
    target: /^dag_run:\d+$/,
    noGrant: NO_GRANT_ON_RUN,
  },
  markDagRun: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: MarkDagRunInput!) { markDagRun(input: $input) { dagRun { state } } }`,
    variables: async () => ({ input: { id: await freshAlphaRun(), state: 'failed' } }),
    target: /^dag_run:\d+$/,
    noGrant: NO_GRANT_ON_RUN,
  },
  cancelDagRun: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: DagRunRefInput!) { cancelDagRun(input: $input) { dagRun { state } } }`,
    variables: async () => ({ input: { id: await freshAlphaRun() } }),
    target: /^dag_run:\d+$/,
    noGrant: NO_GRANT_ON_RUN,
  },
  deleteDag: {
    role: 'admin',
    dagId: 'doomed',
    query: `mutation ($input: DeleteDagInput!) { deleteDag(input: $input) { deletedRuns } }`,
    variables: async () => ({ input: { id: await doomedDag() } }),
    target: /^dag:doomed_\d+$/,
    noGrant: /has no grant on DAG "doomed_\d+"/,
  },
  createApiToken: {
    role: 'admin',
    dagId: null,
    query: `mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { prefix role } } }`,
    variables: async () => ({ input: { role: 'viewer', name: 'made-by-the-matrix' } }),
    target: /^api_token:[0-9a-f]{12}$/,
    noGrant: NOT_EVERY_DAG,
  },
  setVariable: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: SetVariableInput!) { setVariable(input: $input) { variable { key value isSecret } } }`,
    variables: async () => ({ input: { key: 'set_by_the_matrix', value: 'a secret value', isSecret: true } }),
    target: /^variable:set_by_the_matrix$/,
    noGrant: NOT_EVERY_DAG,
  },
  deleteVariable: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: DeleteVariableInput!) { deleteVariable(input: $input) { key } }`,
    variables: async () => ({ input: { key: await doomedVariable() } }),
    target: /^variable:doomed_\d+$/,
    noGrant: NOT_EVERY_DAG,
  },
  setPool: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: SetPoolInput!) { setPool(input: $input) { pool { name slots } } }`,
    variables: async () => ({ input: { name: 'set_by_the_matrix', slots: 3 } }),
    target: /^pool:set_by_the_matrix$/,
    noGrant: NOT_EVERY_DAG,
  },
  deletePool: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: DeletePoolInput!) { deletePool(input: $input) { name } }`,
    variables: async () => ({ input: { name: await doomedPool() } }),
    target: /^pool:doomed_\d+$/,
    noGrant: NOT_EVERY_DAG,
  },
  upsertConnection: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: UpsertConnectionInput!) { upsertConnection(input: $input) { created connection { id hasPassword } } }`,
    variables: async () => ({ input: { id: 'made_by_the_matrix', type: 'postgres', host: 'db.example', password: 'a password' } }),
    target: /^connection:made_by_the_matrix$/,
    noGrant: NOT_EVERY_DAG,
  },
  deleteConnection: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: DeleteConnectionInput!) { deleteConnection(input: $input) { id } }`,
    variables: async () => ({ input: { id: await doomedConnection() } }),
    target: /^connection:doomed_\d+$/,
    noGrant: NOT_EVERY_DAG,
  },
  testConnection: {
    role: 'op',
    dagId: null,
    query: `mutation ($input: TestConnectionInput!) { testConnection(input: $input) { ok message plugin } }`,
    variables: async () => ({ input: { type: 'no_such_type', host: 'nowhere.example' } }),
    target: /^connection-type:no_such_type$/,
    noGrant: NOT_EVERY_DAG,
  },
  backfill: {
    role: 'user',
    dagId: 'alpha',
    query: `mutation ($input: BackfillInput!) { backfill(input: $input) { runsCreated backfillId } }`,
    variables: async () => ({ input: { dagId: 'alpha', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', reprocess: 'NONE', maxActiveRuns: 1 } }),
    target: /^dag:alpha$/,
    noGrant: NO_GRANT_ON_ALPHA,
  },
  cancelBackfill: {
    role: 'user',
    dagId: null,
    query: `mutation ($input: CancelBackfillInput!) { cancelBackfill(input: $input) { id cancelledAt } }`,
    variables: async () => ({ input: { id: String(await alphaBackfill()) } }),
    target: /^backfill:\d+$/,
    noGrant: /has no grant on the DAG of backfill \d+/,
  },
  revokeApiToken: {
    role: 'admin',
    dagId: null,
    query: `mutation ($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { prefix status } }`,
    variables: async () => ({ input: { prefix: (await makeToken({ role: 'viewer', name: 'to-revoke' })).prefix } }),
    target: /^api_token:[0-9a-f]{12}$/,
    noGrant: NOT_EVERY_DAG,
  },
};

/** One sample call per query field, with the role it needs. */
const QUERIES: Record<string, { role: Role; query: string; variables?: () => Record<string, unknown> }> = {
  dags: { role: 'viewer', query: `{ dags(first: 10) { edges { node { id } } } }` },
  dagTags: { role: 'viewer', query: `{ dagTags }` },
  dag: { role: 'viewer', query: `{ dag(id: "alpha") { id } }` },
  dagRun: { role: 'viewer', query: `query ($id: ID!) { dagRun(id: $id) { id } }`, variables: () => ({ id: alphaRun }) },
  dagRuns: { role: 'viewer', query: `{ dagRuns(first: 10) { edges { node { id } } } }` },
  importErrors: { role: 'viewer', query: `{ importErrors(first: 10) { edges { node { fileName } } } }` },
  dagGrid: { role: 'viewer', query: `{ dagGrid(dagId: "alpha") { runs { id } rows { edges { node { task { id } } } } } }` },
  workers: { role: 'viewer', query: `{ workers(first: 10) { edges { node { id } } } }` },
  apiTokens: { role: 'admin', query: `{ apiTokens(first: 10) { edges { node { prefix } } } }` },
  auditLog: { role: 'op', query: `{ auditLog(first: 10) { edges { node { id } } } }` },
  retentionPasses: { role: 'op', query: `{ retentionPasses(first: 10) { edges { node { id deleted } } } }` },
  variables: { role: 'viewer', query: `{ variables(first: 10) { edges { node { key value } } } }` },
  variable: { role: 'viewer', query: `{ variable(key: "matrix_sample") { key value } }` },
  connections: { role: 'viewer', query: `{ connections(first: 10) { edges { node { id hasPassword extra } } } }` },
  connection: { role: 'viewer', query: `{ connection(id: "matrix_sample") { id hasPassword extra } }` },
  plugins: { role: 'viewer', query: `{ plugins { name version operators { name } connectionTypes { type } } }` },
  backfill: { role: 'viewer', query: `query ($id: ID!) { backfill(id: $id) { id runsDone } }`, variables: () => ({ id: String(sampleBackfill) }) },
  backfills: { role: 'viewer', query: `{ backfills(first: 10) { edges { node { id dagId } } } }` },
  assets: { role: 'viewer', query: `{ assets(first: 10) { edges { node { uri consumingDags { id } } } } }` },
  asset: { role: 'viewer', query: `{ asset(uri: "s3://matrix/sample") { uri events(first: 5) { edges { node { id } } } } }` },
  assetEvents: { role: 'viewer', query: `{ assetEvents(first: 10) { edges { node { id extra triggeredRuns { id } } } } }` },
  pools: { role: 'viewer', query: `{ pools(first: 10) { edges { node { name slots usage { occupiedSlots openSlots } } } } }` },
  pool: { role: 'viewer', query: `{ pool(name: "default_pool") { name slots } }` },
};

/** Root fields anyone may use without a token, with a sample call. */
const PUBLIC_QUERIES: Record<string, string> = {
  health: `{ health { status database { reachable } migrations { current } schedulers { alive } workers { alive } } }`,
  me: `{ me { actor name role } }`,
};

/** The whole audit log as text. */
const auditText = async () => JSON.stringify(await platform.db.prisma.auditLog.findMany(), (_key, value) => (typeof value === 'bigint' ? String(value) : value));
const latestAudit = (action: string) => platform.db.prisma.auditLog.findFirst({ where: { action }, orderBy: { id: 'desc' } });

describe('every mutation × every kind of caller', () => {
  it('has a case for every Mutation field, and no case for a field that is gone', () => {
    expect(Object.keys(schema.getMutationType()!.getFields()).sort()).toEqual(Object.keys(MUTATIONS).sort());
  });

  for (const [name, mutation] of Object.entries(MUTATIONS)) {
    describe(name, () => {
      it('is UNAUTHENTICATED without a token (401), FORBIDDEN for a viewer, and each attempt is audited as denied', async () => {
        const api = closedApi();
        const anonymous = await call(api, mutation.query, await mutation.variables());
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
        expect(anonymous.body.errors[0]).toMatchObject({ message: `Mutation.${name} needs an API token: send "Authorization: Bearer <token>"`, extensions: { code: 'UNAUTHENTICATED' } });
        expect(anonymous.body.data?.[name] ?? null).toBeNull();
        expect(await latestAudit(name)).toMatchObject({ actor: 'anonymous', outcome: 'denied', clientAddress: '192.0.2.10' });

        const viewer = await call(api, mutation.query, await mutation.variables(), { token: tokens.viewer });
        expect(codeOf(viewer)).toBe('FORBIDDEN');
        expect(viewer.body.errors[0].message).toBe(`Mutation.${name}: needs the ${mutation.role} role, and token "viewer-all" (upd_${tokens.viewer!.slice(4, 16)}) has the viewer role`);
        expect(await latestAudit(name)).toMatchObject({ actor: `token:${tokens.viewer!.slice(4, 16)}`, actorName: 'viewer-all', outcome: 'denied' });
      });

      it('is FORBIDDEN for a token of the right role without a grant on its DAG', async () => {
        const reply = await call(closedApi(), mutation.query, await mutation.variables(), { token: tokens[`${mutation.role}Beta`] });
        expect(codeOf(reply)).toBe('FORBIDDEN');
        expect(reply.body.errors[0].message).toMatch(mutation.noGrant);
        const row = await latestAudit(name);
        expect(row).toMatchObject({ outcome: 'denied' });
        if (mutation.dagId) expect(row!.dagId).toMatch(new RegExp(`^${mutation.dagId}`)); // the DAG is named even in a denial
      });

      it(`is allowed from the ${mutation.role} role up, and audited as a success`, async () => {
        const api = closedApi();
        for (const role of ROLES) {
          const reply = await call(api, mutation.query, await mutation.variables(), { token: tokens[role] });
          if (hasRole({ actor: '', name: null, role, grants: null }, mutation.role)) {
            expect({ role, errors: reply.body.errors }).toEqual({ role, errors: undefined });
            expect(reply.body.data[name]).not.toBeNull();
            const row = await latestAudit(name);
            expect(row).toMatchObject({ actor: `token:${tokens[role]!.slice(4, 16)}`, outcome: 'success', target: expect.stringMatching(mutation.target) });
          } else {
            expect({ role, code: codeOf(reply) }).toEqual({ role, code: 'FORBIDDEN' });
          }
        }
        if (mutation.dagId) {
          // A token limited to the DAG it acts on (by tag) may.
          const { token } = await makeToken({ role: mutation.role, tags: ['team-a'] });
          const granted = await call(api, mutation.query, await mutation.variables(), { token });
          expect(granted.body.errors).toBeUndefined();
        }
      });
    });
  }
});

describe('every query × every kind of caller', () => {
  it('has a case for every Query field', () => {
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual([...Object.keys(QUERIES), ...Object.keys(PUBLIC_QUERIES)].sort());
  });

  for (const [name, sample] of Object.entries(QUERIES)) {
    it(`${name}: UNAUTHENTICATED without a token, allowed from the ${sample.role} role up`, async () => {
      const api = closedApi();
      const anonymous = await call(api, sample.query, sample.variables?.());
      expect(anonymous.status).toBe(401);
      expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
      for (const role of ROLES) {
        const reply = await call(api, sample.query, sample.variables?.(), { token: tokens[role] });
        const allowed = hasRole({ actor: '', name: null, role, grants: null }, sample.role);
        expect({ role, code: codeOf(reply) }).toEqual({ role, code: allowed ? null : 'FORBIDDEN' });
      }
    });
  }

  for (const [name, query] of Object.entries(PUBLIC_QUERIES)) {
    it(`${name}: answers without a token, and with a token of any role`, async () => {
      const api = closedApi();
      const anonymous = await call(api, query);
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.errors).toBeUndefined();
      expect(anonymous.body.data[name]).not.toBeNull();
      for (const role of ROLES) expect((await call(api, query, undefined, { token: tokens[role] })).body.errors).toBeUndefined();
      // A bad token is still refused: a public field does not make a bad token good.
      expect((await call(api, query, undefined, { token: `upd_000000000000_${'A'.repeat(43)}` })).status).toBe(401);
    });
  }

  it('me: says who the caller is (anonymous without a token, the token and its role with one)', async () => {
    const api = closedApi();
    expect((await call(api, `{ me { actor name role } }`)).body.data.me).toEqual({ actor: 'anonymous', name: null, role: null });
    for (const role of ROLES) {
      const me = (await call(api, `{ me { actor role } }`, undefined, { token: tokens[role] })).body.data.me;
      expect(me).toEqual({ actor: expect.stringMatching(/^token:/), role });
    }
  });

  it('keeps public fields public only: next to a closed field, an anonymous caller gets the public one and UNAUTHENTICATED for the other', async () => {
    const reply = await call(closedApi(), `{ health { status } dags(first: 1) { edges { node { id } } } }`);
    expect(reply.body.data.health.status).toEqual(expect.any(String));
    expect(reply.body.data.dags).toBeNull();
    expect(codeOf(reply)).toBe('UNAUTHENTICATED');
  });
});

describe('DAG grants', () => {
  const ids = (connection: any) => connection.edges.map((e: any) => e.node.id ?? e.node.dagId);

  it('filter lists: dags, dagRuns, importErrors (files of granted DAGs only), dagTags', async () => {
    const api = closedApi();
    const query = `{ dags(first: 10) { edges { node { id tags } } } dagRuns(first: 10) { edges { node { dagId } } } importErrors(first: 10) { edges { node { fileName } } } dagTags }`;
    const all = await call(api, query, undefined, { token: tokens.viewer });
    expect(ids(all.body.data.dags)).toEqual(['alpha', 'beta']);
    expect(all.body.data.dags.edges[0].node.tags).toEqual(['team-a']);
    expect(all.body.data.importErrors.edges.map((e: any) => e.node.fileName)).toEqual(['alpha.ts', 'broken.ts']);
    expect(all.body.data.dagTags).toEqual(['team-a', 'team-b']);

    const alpha = await call(api, query, undefined, { token: tokens.userAlpha });
    expect(alpha.body.errors).toBeUndefined();
    expect(ids(alpha.body.data.dags)).toEqual(['alpha']);
    expect(new Set(ids(alpha.body.data.dagRuns))).toEqual(new Set(['alpha']));
    expect(alpha.body.data.importErrors.edges.map((e: any) => e.node.fileName)).toEqual(['alpha.ts']);
    expect(alpha.body.data.dagTags).toEqual(['team-a']);

    // By tag.
    const teamB = await call(api, query, undefined, { token: tokens.viewerTeamB });
    expect(ids(teamB.body.data.dags)).toEqual(['beta']);
    expect(new Set(ids(teamB.body.data.dagRuns))).toEqual(new Set(['beta']));
    expect(teamB.body.data.importErrors.edges).toEqual([]);
    expect(teamB.body.data.dagTags).toEqual(['team-b']);
  });

  it('refuse single objects of other DAGs with FORBIDDEN, existing or not', async () => {
    const api = closedApi();
    const asAlpha = (query: string, variables?: Record<string, unknown>) => call(api, query, variables, { token: tokens.userAlpha });
    expect((await asAlpha(`{ dag(id: "alpha") { id } }`)).body.data.dag).toEqual({ id: 'alpha' });
    expect((await asAlpha(`query ($id: ID!) { dagRun(id: $id) { dagId } }`, { id: alphaRun })).body.data.dagRun).toEqual({ dagId: 'alpha' });

    const dag = await asAlpha(`{ dag(id: "beta") { id } }`);
    expect(dag.body.errors[0]).toMatchObject({ message: `Query.dag: token "user-alpha" (upd_${tokens.userAlpha!.slice(4, 16)}) has no grant on DAG "beta"`, extensions: { code: 'FORBIDDEN' } });
    expect(codeOf(await asAlpha(`{ dag(id: "no_such_dag") { id } }`))).toBe('FORBIDDEN');
    expect(codeOf(await asAlpha(`query ($id: ID!) { dagRun(id: $id) { id } }`, { id: betaRun }))).toBe('FORBIDDEN');
    expect(codeOf(await asAlpha(`{ dagRuns(first: 5, dagId: "beta") { edges { node { id } } } }`))).toBe('FORBIDDEN');
    expect(codeOf(await asAlpha(`{ dagGrid(dagId: "beta") { dagId } }`))).toBe('FORBIDDEN');
    expect(codeOf(await asAlpha(`{ dagGrid(dagId: "no_such_dag") { dagId } }`))).toBe('FORBIDDEN');
    expect((await asAlpha(`{ dagGrid(dagId: "alpha") { dagId } }`)).body.data.dagGrid).toEqual({ dagId: 'alpha' });
    // Its own DAG's runs, and a run that does not exist, answer as for anyone.
    expect(codeOf(await asAlpha(`{ dagRun(id: "999999") { id } }`))).toBe('NOT_FOUND');
    expect(codeOf(await asAlpha(`{ dagRun(id: "x") { id } }`))).toBe('BAD_USER_INPUT');

    // By tag: the DAG's tags decide.
    const teamB = (query: string, variables?: Record<string, unknown>) => call(api, query, variables, { token: tokens.viewerTeamB });
    expect((await teamB(`{ dag(id: "beta") { id } }`)).body.data.dag).toEqual({ id: 'beta' });
    expect(codeOf(await teamB(`{ dag(id: "alpha") { id } }`))).toBe('FORBIDDEN');
    expect(codeOf(await teamB(`query ($id: ID!) { dagRun(id: $id) { id } }`, { id: alphaRun }))).toBe('FORBIDDEN');
    expect(codeOf(await teamB(`{ dag(id: "bad\\u0000id") { id } }`))).toBe('BAD_USER_INPUT');
  });

  it('limit the audit log to the granted DAGs’ rows', async () => {
    const api = closedApi();
    await call(api, MUTATIONS.triggerDagRun!.query, { input: { dagId: 'alpha' } }, { token: tokens.userAlpha });
    await call(api, MUTATIONS.triggerDagRun!.query, { input: { dagId: 'beta' } }, { token: tokens.user });
    const query = `{ auditLog(first: 1000) { edges { node { dagId action outcome } } } }`;
    const all = (await call(api, query, undefined, { token: tokens.op })).body.data.auditLog.edges.map((e: any) => e.node.dagId);
    expect(all).toContain('beta');
    expect(all).toContain(null);
    const alpha = await call(api, query, undefined, { token: tokens.opAlpha });
    expect(alpha.body.errors).toBeUndefined();
    expect(new Set(alpha.body.data.auditLog.edges.map((e: any) => e.node.dagId))).toEqual(new Set(['alpha']));
    expect(codeOf(await call(api, `{ auditLog(first: 5, dagId: "beta") { edges { node { id } } } }`, undefined, { token: tokens.opAlpha }))).toBe('FORBIDDEN');
  });
});

describe('tokens', () => {
  const WHO = `{ dags(first: 1) { edges { node { id } } } }`;

  it('are refused with 401 UNAUTHENTICATED when unknown, malformed, expired or revoked; a valid one records its last use', async () => {
    const api = closedApi();
    const { token, prefix } = await makeToken({ role: 'viewer', name: 'short-lived', expiresAt: new Date(Date.now() + 60_000) });
    expect((await call(api, WHO, undefined, { token })).body.errors).toBeUndefined();
    const used = await platform.db.prisma.apiToken.findUniqueOrThrow({ where: { prefix } });
    expect(used.lastUsedAt).not.toBeNull();

    const refusals: Array<[Record<string, string>, string]> = [
      [{ token: `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` }, 'Invalid API token'],
      [{ token: `upd_000000000000_${'A'.repeat(43)}` }, 'Invalid API token'],
      [{ token: 'not-a-token' }, 'The Authorization header does not hold an Updraft API token: send "Authorization: Bearer upd_<prefix>_<secret>"'],
      [{ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'The Authorization header does not hold an Updraft API token: send "Authorization: Bearer upd_<prefix>_<secret>"'],
    ];
    for (const [auth, message] of refusals) {
      const reply = await call(api, WHO, undefined, auth);
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(reply.body).toEqual({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
    }

    await platform.db.prisma.apiToken.update({ where: { prefix }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(api, WHO, undefined, { token })).body.errors[0]).toEqual({
      message: `API token upd_${prefix} has expired; create a new one (updraft tokens create)`,
      extensions: { code: 'UNAUTHENTICATED' },
    });

    const other = await makeToken({ role: 'viewer' });
    expect((await call(api, WHO, undefined, { token: other.token })).status).toBe(200);
    await revokeApiToken(platform.db.prisma, `upd_${other.prefix}`);
    const revoked = await call(api, WHO, undefined, { token: other.token });
    expect(revoked.status).toBe(401);
    expect(revoked.body.errors[0].message).toBe(`API token upd_${other.prefix} has been revoked`);
  });

  it('act as themselves on an open API too; without a token an open API acts as the local admin', async () => {
    const open = createApi({ prisma: platform.db.prisma, pool: platform.pool });
    expect((await call(open, MUTATIONS.setDagPaused!.query, await MUTATIONS.setDagPaused!.variables())).body.errors).toBeUndefined();
    expect(await latestAudit('setDagPaused')).toMatchObject({ actor: 'local', outcome: 'success' });
    expect(codeOf(await call(open, MUTATIONS.setDagPaused!.query, await MUTATIONS.setDagPaused!.variables(), { token: tokens.viewer }))).toBe('FORBIDDEN');
    expect(codeOf(await call(open, WHO, undefined, { token: 'upd_bad' }))).toBe('UNAUTHENTICATED');
  });

  it('never show their secret or hash after creation; creation and revocation are audited without it', async () => {
    const api = closedApi();
    const apiTokenFields = Object.keys((schema.getType('ApiToken') as any).getFields());
    expect(apiTokenFields.filter((f) => /secret|hash/i.test(f))).toEqual([]);
    const created = await call(api, MUTATIONS.createApiToken!.query, { input: { role: 'op', name: 'ci', dagIds: ['alpha'], expiresAt: '2099-01-01T00:00:00.000Z' } }, { token: tokens.admin });
    const { token, apiToken } = created.body.data.createApiToken;
    expect(token).toMatch(/^upd_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const secret = token.slice(17);
    const listed = await call(api, `{ apiTokens(first: 1000, includeRevoked: true) { edges { node { prefix name role dagIds tags createdBy createdAt expiresAt revokedAt lastUsedAt status } } } }`, undefined, { token: tokens.admin });
    const mine = listed.body.data.apiTokens.edges.find((e: any) => e.node.prefix === apiToken.prefix).node;
    expect(mine).toMatchObject({ name: 'ci', role: 'op', dagIds: ['alpha'], tags: [], createdBy: `token:${tokens.admin!.slice(4, 16)}`, status: 'active', expiresAt: '2099-01-01T00:00:00.000Z' });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    // The new token works, with its grants.
    expect((await call(api, `{ dags(first: 5) { edges { node { id } } } }`, undefined, { token })).body.data.dags.edges).toEqual([{ node: { id: 'alpha' } }]);

    const row = await latestAudit('createApiToken');
    expect(row).toMatchObject({ target: `api_token:${apiToken.prefix}`, outcome: 'success', details: { name: 'ci', role: 'op', dagIds: ['alpha'], tags: [], expiresAt: '2099-01-01T00:00:00.000Z' } });
    expect(await auditText()).not.toContain(secret);

    const revoked = await call(api, MUTATIONS.revokeApiToken!.query, { input: { prefix: token } }, { token: tokens.admin });
    expect(revoked.body.errors[0]).toMatchObject({ message: 'That is a whole token; give only its prefix (the 12 hex digits after "upd_")', extensions: { code: 'BAD_USER_INPUT' } });
    expect(await latestAudit('revokeApiToken')).toMatchObject({ target: 'api_token:(invalid)', outcome: 'failed: That is a whole token; give only its prefix (the 12 hex digits after "upd_")' });
    expect(await auditText()).not.toContain(secret);
  });

  it('refuse bad input when created', async () => {
    const api = closedApi();
    const create = (input: Record<string, unknown>) => call(api, MUTATIONS.createApiToken!.query, { input }, { token: tokens.admin });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ role: 'viewer', expiresAt: '2001-01-01T00:00:00.000Z' }, 'expiresAt 2001-01-01T00:00:00.000Z is not in the future'],
      [{ role: 'viewer', name: '  ' }, 'name must have 1 to 100 characters, not only spaces'],
      [{ role: 'viewer', dagIds: [''] }, '"" is not a DAG id: DAG ids have 1 to 250 characters'],
      [{ role: 'viewer', tags: ['a\u0000'] }, '"a\\u0000" is not a tag: it contains a NUL character (\\u0000)'],
    ];
    for (const [input, message] of cases) expect((await create(input)).body.errors[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
    // The audit row is written even when what the caller sent cannot be stored as it is.
    expect(await latestAudit('createApiToken')).toMatchObject({ outcome: 'failed: "a\\u0000" is not a tag: it contains a NUL character (\\u0000)', details: { tags: ['a\uFFFD'] } });
    const trigger = await call(api, MUTATIONS.triggerDagRun!.query, { input: { dagId: 'bad\u0000id' } }, { token: tokens.admin });
    expect(codeOf(trigger)).toBe('BAD_USER_INPUT');
    expect(await latestAudit('triggerDagRun')).toMatchObject({ target: 'dag:bad\uFFFDid', dagId: 'bad\uFFFDid', outcome: expect.stringMatching(/^failed: "bad\\u0000id" is not a DAG id/) });
    expect((await create({ role: 'superuser' })).body.errors[0].message).toMatch(/Value "superuser" does not exist in "ApiRole" enum/);
  });
});

describe('failed authentications', () => {
  it('are rate-limited per client address (429 with Retry-After), valid tokens included, other clients unaffected', async () => {
    const api = closedApi({ failedAuth: { maxFailures: 3, windowMs: 60_000 } });
    const WHO = `{ dags(first: 1) { edges { node { id } } } }`;
    for (let i = 0; i < 3; i++) expect((await call(api, WHO, undefined, { token: `upd_000000000000_${'B'.repeat(43)}`, client: '198.51.100.7' })).status).toBe(401);
    for (const token of [`upd_000000000000_${'B'.repeat(43)}`, tokens.viewer!]) {
      const limited = await call(api, WHO, undefined, { token, client: '198.51.100.7' });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(50);
      expect(limited.body.errors[0]).toMatchObject({ message: expect.stringMatching(/^Too many failed authentications from this address; retry in \d+ s$/), extensions: { code: 'RATE_LIMITED' } });
    }
    expect((await call(api, WHO, undefined, { token: tokens.viewer, client: '198.51.100.8' })).status).toBe(200);
    // Calls without a token that end UNAUTHENTICATED count too.
    for (let i = 0; i < 3; i++) expect((await call(api, WHO, undefined, { client: '198.51.100.9' })).status).toBe(401);
    expect((await call(api, WHO, undefined, { client: '198.51.100.9' })).status).toBe(429);
  });

  it('are audited, at most one row per client per second, each counting the failures since the last', async () => {
    let now = 1_000_000;
    const api = closedApi({ failedAuth: { maxFailures: 100, now: () => now } });
    const bad = `upd_0123456789ab_${'C'.repeat(43)}`;
    const client = '203.0.113.50';
    for (const at of [0, 100, 200, 300, 1_200, 1_300]) {
      now = 1_000_000 + at;
      expect((await call(api, `{ __typename }`, undefined, { token: bad, client })).status).toBe(401);
    }
    const rows = await platform.db.prisma.auditLog.findMany({ where: { clientAddress: client }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => ({ actor: r.actor, action: r.action, target: r.target, outcome: r.outcome, details: r.details }))).toEqual([
      { actor: 'token:0123456789ab', action: 'authenticate', target: 'api_token:0123456789ab', outcome: 'denied', details: { reason: 'invalid', attempts: 1 } },
      { actor: 'token:0123456789ab', action: 'authenticate', target: 'api_token:0123456789ab', outcome: 'denied', details: { reason: 'invalid', attempts: 4 } },
    ]);
    // Many clients at once: at most 20 rows a second in all.
    now = 2_000_000;
    for (let i = 0; i < 40; i++) await call(api, `{ __typename }`, undefined, { token: bad, client: `203.0.113.${100 + i}` });
    const flood = await platform.db.prisma.auditLog.count({ where: { clientAddress: { startsWith: '203.0.113.1' } } });
    expect(flood).toBe(20);
  });
});

describe('hardening', () => {
  it('answers introspection only when enabled, and never to a caller without a token', async () => {
    const INTROSPECT = `{ __schema { queryType { name } } }`;
    const off = await call(closedApi(), INTROSPECT, undefined, { token: tokens.admin });
    expect(off.body.errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(off.body.errors[0].message).toMatch(/introspection has been disabled/);
    const on = closedApi({ introspection: true });
    expect((await call(on, INTROSPECT, undefined, { token: tokens.viewer })).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(codeOf(await call(on, INTROSPECT))).toBe('GRAPHQL_VALIDATION_FAILED');
    // The open API (updraft start) keeps it, for local tools.
    expect((await call(createApi({ prisma: platform.db.prisma, pool: platform.pool }), INTROSPECT)).body.data.__schema.queryType.name).toBe('Query');
  });

  it('lets browsers of allowed origins send the Authorization header', async () => {
    const api = createApi({ prisma: platform.db.prisma, pool: platform.pool }, { corsOrigins: ['https://dash.example'], auth: { open: false } });
    const preflight = await api.fetch('http://test/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://dash.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('cannot build a schema with a mutation that is not audited or has no authScopes', () => {
    const build = (options: Record<string, unknown>) => {
      const b = new SchemaBuilder<{ Context: object; AuthScopes: { ok: boolean } }>({
        plugins: [AuditPlugin, ScopeAuthPlugin],
        scopeAuth: { authScopes: () => ({ ok: true }) },
        audit: { record: async () => undefined },
      } as never); // the options type asks for every plugin loaded in this process (prisma, relay…)
      b.queryType({ fields: (t) => ({ ping: t.boolean({ resolve: () => true }) }) });
      b.mutationType({ fields: (t) => ({ doIt: t.boolean({ resolve: () => true, ...options } as never) }) });
      return b.toSchema();
    };
    expect(() => build({ authScopes: { ok: true } })).toThrow('Mutation.doIt has no audit option');
    expect(() => build({ audit: () => ({ target: null }) })).toThrow('Mutation.doIt has no authScopes');
    expect(() => build({ authScopes: { ok: true }, audit: () => ({ target: null }) })).not.toThrow();
  });
});
