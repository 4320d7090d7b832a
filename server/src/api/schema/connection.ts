// Connections through the API: listed and read by viewers, never with their password (only
// whether there is one) and with the value of every sensitive extra field shown as `***`;
// upserted and deleted by ops. Not scoped to DAGs, so a token limited to some DAGs has no access.
import { checkConnectionId, deleteConnection, openExtra, upsertConnection, type PasswordChange } from '../../secrets/connections.js';
import { redact } from '../../secrets/masking.js';
import { notFound } from '../../errors.js';
import { builder } from '../builder.js';
import { pageTypes } from './connections.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { apiSecretKey, withSecrets } from '../secret-key.js';

builder.prismaObject('Connection', {
  description: 'How tasks reach an external system, read at run time with `connection(id)`. Its password is write-only: never returned.',
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id', { description: 'What tasks and operators name it by: `connection(id)`.' }),
    type: t.exposeString('type', { description: 'The kind of system: `postgres`, `http`… (Airflow’s conn_type).' }),
    host: t.exposeString('host', { nullable: true, description: 'The host name or address.' }),
    port: t.exposeInt('port', { nullable: true, description: 'The port; null for the type’s default.' }),
    login: t.exposeString('login', { nullable: true, description: 'The user name.' }),
    schema: t.exposeString('schema', { nullable: true, description: 'The database or schema.' }),
    hasPassword: t.boolean({
      description: 'Whether a password is stored. The password itself is never returned.',
      select: { encryptedPassword: true },
      resolve: (connection) => connection.encryptedPassword !== null,
    }),
    extra: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Extra settings (a JSON object), with the value of every sensitive key (password, secret, token, api_key…) shown as `***`.',
      select: { encryptedExtra: true },
      complexity: JSON_FIELD_COST,
      resolve: (connection, _args, ctx) =>
        connection.encryptedExtra === null ? {} : withSecrets(() => redact(openExtra(apiSecretKey(ctx)(), connection.id, connection.encryptedExtra))),
    }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for, as its owner wrote it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first stored.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last replaced.' }),
  }),
});

builder.queryFields((t) => ({
  connections: t.prismaConnection({
    type: 'Connection',
    cursor: 'id',
    description: 'Every stored connection, by id (viewer, with a token not limited to some DAGs); never their passwords. Connections that workers take from `UPDRAFT_CONN_<ID>` variables are not listed.',
    authScopes: { role: 'viewer', everyDag: true },
    ...pageLimits,
    resolve: (query, _root, _args, ctx) => ctx.prisma.connection.findMany({ ...query, orderBy: { id: 'asc' } }),
  }, ...pageTypes('Connection', 'connections')),
  connection: t.prismaField({
    type: 'Connection',
    description: 'One stored connection (NOT_FOUND when there is none), without its password.',
    args: { id: t.arg.id({ required: true, description: 'The connection’s id.' }) },
    authScopes: { role: 'viewer', everyDag: true },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      checkConnectionId(id);
      const found = await ctx.prisma.connection.findUnique({ ...query, where: { id } });
      if (!found) throw notFound(`Connection "${id}" does not exist`);
      return found;
    },
  }),
}));

const UpsertConnectionInput = builder.inputType('UpsertConnectionInput', {
  description: 'A connection to create, or to replace whole (but for an omitted password, which is kept).',
  fields: (t) => ({
    id: t.string({ required: true, description: '1 to 250 characters: letters, digits, `_`, `-`, `.`.' }),
    type: t.string({ required: true, description: 'The kind of system: `postgres`, `http`…' }),
    host: t.string({ description: 'The host name or address.' }),
    port: t.int({ description: '1 to 65535.' }),
    login: t.string({ description: 'The user name.' }),
    password: t.string({ description: 'Omitted: keep the stored password. null or "": remove it. At most 64 KiB; stored encrypted, never returned.' }),
    schema: t.string({ description: 'The database or schema.' }),
    extra: t.field({
      type: 'JSON',
      description: 'A JSON object (at most 64 KiB), stored encrypted. A sensitive key whose value is `***` (as the API shows it) keeps its stored value.',
    }),
    description: t.string({ description: 'What it is for.' }),
  }),
});

const UpsertConnectionPayload = builder.objectRef<{ id: string; created: boolean; password: PasswordChange }>('UpsertConnectionPayload').implement({
  description: 'What `upsertConnection` did.',
  fields: (t) => ({
    created: t.exposeBoolean('created', { description: 'Whether the connection is new (else it was replaced).' }),
    connection: t.prismaField({
      type: 'Connection',
      description: 'The connection as stored now, without its password.',
      resolve: (query, payload, _args, ctx) => ctx.prisma.connection.findUniqueOrThrow({ ...query, where: { id: payload.id } }),
    }),
  }),
});

const DeleteConnectionInput = builder.inputType('DeleteConnectionInput', {
  description: 'The connection to delete.',
  fields: (t) => ({ id: t.string({ required: true, description: 'The connection’s id.' }) }),
});
const DeleteConnectionPayload = builder.objectRef<{ id: string }>('DeleteConnectionPayload').implement({
  description: 'What `deleteConnection` deleted.',
  fields: (t) => ({ id: t.exposeString('id', { description: 'The deleted connection’s id.' }) }),
});

builder.mutationFields((t) => ({
  upsertConnection: t.field({
    type: UpsertConnectionPayload,
    description: 'Creates or replaces a connection (op). Its password and extra fields are stored encrypted; the password can never be read back through the API.',
    args: { input: t.arg({ type: UpsertConnectionInput, required: true, description: 'The connection.' }) },
    authScopes: { role: 'op', everyDag: true },
    // Neither the password nor the extra fields (which may hold credentials): what changed, and where it points.
    audit: ({ input }, result) => ({
      target: `connection:${input.id}`,
      details: result ? { type: input.type, host: input.host ?? null, port: input.port ?? null, login: input.login ?? null, schema: input.schema ?? null, created: result.created, password: result.password } : null,
    }),
    resolve: (_root, { input }, ctx) =>
      withSecrets(() => upsertConnection(ctx.prisma, { ...input, extra: input.extra as Record<string, unknown> | null | undefined }, apiSecretKey(ctx))),
  }),
  deleteConnection: t.field({
    type: DeleteConnectionPayload,
    description: 'Deletes a stored connection (op); NOT_FOUND when there is none.',
    args: { input: t.arg({ type: DeleteConnectionInput, required: true, description: 'Which connection.' }) },
    authScopes: { role: 'op', everyDag: true },
    audit: ({ input }) => ({ target: `connection:${input.id}` }),
    resolve: async (_root, { input }, ctx) => {
      await deleteConnection(ctx.prisma, input.id);
      return { id: input.id };
    },
  }),
}));
