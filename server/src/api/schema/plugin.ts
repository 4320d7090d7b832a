// Installed plugins (server/src/plugins): what each offers, and connection tests run by the
// connection type's plugin in a child process with a time limit. The password reaches the
// test and nothing else: never the audit log, never the answer (masked as `***`).
import type { TaskConnection } from '@updraft/sdk';
import { badInput } from '../../errors.js';
import { connectionVariable, parseConnectionText } from '../../secrets/connection-uri.js';
import { checkConnectionId, openExtra, openPassword } from '../../secrets/connections.js';
import { connectionProblems } from '../../secrets/input.js';
import type { ConnectionTestOutcome, PluginInfo } from '../../plugins/registry.js';
import type { ApiContext } from '../builder.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST } from '../limits.js';
import { apiSecretKey, withSecrets } from '../secret-key.js';

type OperatorRow = PluginInfo['operators'][number];
type ConnectionTypeRow = PluginInfo['connectionTypes'][number];
type FieldRow = ConnectionTypeRow['fields'][number];

const PluginOperator = builder.objectRef<OperatorRow>('PluginOperator').implement({
  description: 'An operator or a sensor a plugin exports (`defineOperator`, `defineSensor`): used in DAGs like a task.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name, unique within its plugin (`shell`, `http_request`).' }),
    kind: t.exposeString('kind', { description: '`operator` or `sensor`.' }),
    description: t.exposeString('description', { nullable: true, description: 'What it does, as its plugin says.' }),
    paramsSchema: t.field({
      type: 'JSON',
      nullable: true,
      complexity: JSON_FIELD_COST,
      description: 'Its params as JSON Schema (input form), when its validator can describe itself.',
      resolve: (operator) => operator.paramsSchema as object | null,
    }),
  }),
});

const ConnectionTypeField = builder.objectRef<FieldRow>('ConnectionTypeField').implement({
  description: 'A field of a connection type: a standard one (host, port, login, password, schema) or a key of `extra`.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The field’s name (`host`), or the key in `extra` (`sslmode`).' }),
    label: t.exposeString('label', { description: 'What a form calls it.' }),
    description: t.exposeString('description', { nullable: true, description: 'More on what it holds.' }),
    required: t.exposeBoolean('required', { description: 'Whether the type’s operators refuse a connection without it.' }),
    secret: t.exposeBoolean('secret', { description: 'Whether it holds a secret (hidden in forms, masked in logs); the password always does.' }),
    extra: t.exposeBoolean('extra', { description: 'Whether it is a key of the connection’s `extra` object.' }),
  }),
});

const PluginConnectionType = builder.objectRef<ConnectionTypeRow>('PluginConnectionType').implement({
  description: 'A connection type a plugin exports (`defineConnectionType`): the fields of its connections, and whether it can test one.',
  fields: (t) => ({
    type: t.exposeString('type', { description: 'The `type` of the connections it describes (`postgres`, `http`, `smtp`).' }),
    label: t.exposeString('label', { description: 'A human name (`PostgreSQL`).' }),
    description: t.exposeString('description', { nullable: true, description: 'What such a connection reaches.' }),
    fields: t.field({ type: [ConnectionTypeField], description: 'Its fields, standard ones first.', resolve: (type) => type.fields }),
    testable: t.exposeBoolean('testable', { description: 'Whether `testConnection` can test connections of this type.' }),
  }),
});

const Plugin = builder.objectRef<PluginInfo>('Plugin').implement({
  description: 'An installed plugin package: its operators, sensors and connection types. See README (Plugins) for how plugins are found.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The npm package name (`@updraft/plugin-shell`).' }),
    version: t.exposeString('version', { description: 'The installed version.' }),
    description: t.exposeString('description', { nullable: true, description: 'The package’s description.' }),
    operators: t.field({ type: [PluginOperator], description: 'Its operators and sensors.', resolve: (plugin) => plugin.operators }),
    connectionTypes: t.field({ type: [PluginConnectionType], description: 'Its connection types.', resolve: (plugin) => plugin.connectionTypes }),
    error: t.exposeString('error', { nullable: true, description: 'Why it could not be loaded (then it lists nothing); null when it loaded.' }),
  }),
});

builder.queryFields((t) => ({
  plugins: t.field({
    type: [Plugin],
    description:
      'The plugin packages installed where the API runs (packages named `@updraft/plugin-*` or declaring `"updraft": { "plugin": true }`), by name. A short list, read once per server: not paged.',
    authScopes: { role: 'viewer' },
    resolve: (_root, _args, ctx) => ctx.plugins.list(),
  }),
}));

const TestConnectionInput = builder.inputType('TestConnectionInput', {
  description:
    'The connection to test: `id` alone tests it as tasks would read it (`UPDRAFT_CONN_<ID>` in the server’s environment, else stored); the other fields test those values without storing them, over the stored ones when `id` is given too.',
  fields: (t) => ({
    id: t.string({ description: 'A connection’s id.' }),
    type: t.string({ description: 'The kind of system (`postgres`); needed without `id`.' }),
    host: t.string({ description: 'The host name or address.' }),
    port: t.int({ description: '1 to 65535.' }),
    login: t.string({ description: 'The user name.' }),
    password: t.string({ description: 'The password to test with; never stored, logged or returned. Omitted with `id`: the stored one.' }),
    schema: t.string({ description: 'The database or schema.' }),
    extra: t.field({ type: 'JSON', description: 'Extra settings, a JSON object.' }),
  }),
});

const TestConnectionPayload = builder.objectRef<ConnectionTestOutcome & { type: string }>('TestConnectionPayload').implement({
  description: 'What a connection test found.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok', { description: 'Whether the connection works.' }),
    message: t.exposeString('message', { description: 'What was checked or what went wrong, secrets masked as `***`.' }),
    type: t.exposeString('type', { description: 'The connection type tested.' }),
    plugin: t.exposeString('plugin', { nullable: true, description: 'The plugin whose test ran; null when no installed plugin has the type.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long the test took, in milliseconds.' }),
  }),
});

type TestInput = { id?: string | null; type?: string | null; host?: string | null; port?: number | null; login?: string | null; password?: string | null; schema?: string | null; extra?: unknown };

builder.mutationFields((t) => ({
  testConnection: t.field({
    type: TestConnectionPayload,
    description:
      'Tests a connection (op) with its connection type’s test (connects, logs in, runs a no-op), in a child process of the server without database credentials, within 15 s. Nothing is stored.',
    args: { input: t.arg({ type: TestConnectionInput, required: true, description: 'The connection.' }) },
    authScopes: { role: 'op', everyDag: true },
    // Never the password: which connection, and whether it worked.
    audit: ({ input }, result) => ({
      target: input.id ? `connection:${input.id}` : `connection-type:${input.type ?? ''}`,
      details: result ? { type: result.type, ok: result.ok, plugin: result.plugin, host: input.host ?? null } : null,
    }),
    resolve: async (_root, { input }, ctx) => {
      const conn = await withSecrets(() => connectionToTest(input as TestInput, ctx));
      return { ...(await ctx.plugins.testConnection(conn)), type: conn.type };
    },
  }),
}));

async function connectionToTest(input: TestInput, ctx: ApiContext): Promise<TaskConnection> {
  let base: TaskConnection | null = null;
  if (input.id !== undefined && input.id !== null) {
    checkConnectionId(input.id);
    base = await readConnection(input.id, ctx);
    if (!base && !input.type) throw badInput(`Connection "${input.id}" does not exist (stored or in the server's ${connectionVariable(input.id)}); give its type and fields to test them unsaved`);
  }
  if (!base && !input.type) throw badInput('Give the id of a connection, or the type and fields of one to test');
  const pick = <K extends keyof TestInput>(key: K, fallback: unknown) => (input[key] === undefined ? fallback : (input[key] ?? null));
  const fields = {
    type: String(pick('type', base?.type)),
    host: pick('host', base?.host ?? null) as string | null,
    port: pick('port', base?.port ?? null) as number | null,
    login: pick('login', base?.login ?? null) as string | null,
    password: pick('password', base?.password ?? null) as string | null,
    schema: pick('schema', base?.schema ?? null) as string | null,
    extra: pick('extra', base?.extra ?? {}) as Record<string, unknown>,
  };
  const problems = connectionProblems(fields);
  if (problems.length > 0) throw badInput(`Connection ${input.id ? `"${input.id}"` : 'to test'}: ${problems.join('; ')}`);
  return { id: input.id ?? '(unsaved)', ...fields };
}

/** A connection as a task would read it: the server's UPDRAFT_CONN_<ID> first, else stored (decrypted). */
async function readConnection(id: string, ctx: ApiContext): Promise<TaskConnection | null> {
  const variable = connectionVariable(id);
  const text = process.env[variable];
  if (text !== undefined && text !== '') {
    try {
      return { id, ...parseConnectionText(variable, text) };
    } catch (e) {
      throw badInput((e as Error).message);
    }
  }
  const row = await ctx.prisma.connection.findUnique({ where: { id } });
  if (!row) return null;
  const needsKey = row.encryptedPassword !== null || row.encryptedExtra !== null;
  const key = needsKey ? apiSecretKey(ctx)() : null;
  return {
    id,
    type: row.type,
    host: row.host,
    port: row.port,
    login: row.login,
    password: key ? openPassword(key, id, row.encryptedPassword) : null,
    schema: row.schema,
    extra: key ? openExtra(key, id, row.encryptedExtra) : {},
  };
}
