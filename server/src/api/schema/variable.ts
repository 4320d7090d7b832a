// Variables through the API: listed and read by viewers (a secret one without its value),
// set and deleted by ops. Not scoped to DAGs, so a token limited to some DAGs has no access.
import { checkVariableKey, deleteVariable, setVariable } from '../../secrets/variables.js';
import { notFound } from '../../errors.js';
import { builder } from '../builder.js';
import { pageTypes } from './connections.js';
import { pageLimits } from '../limits.js';
import { apiSecretKey, withSecrets } from '../secret-key.js';

builder.prismaObject('Variable', {
  description: 'A value tasks read at run time with `variable(key)`. A secret variable’s value is write-only: it is never returned.',
  select: { key: true },
  fields: (t) => ({
    key: t.exposeString('key', { description: 'What tasks read it by: `variable(key)`.' }),
    value: t.exposeString('value', { nullable: true, description: 'The value; null for a secret variable (write-only; tasks read it, their logs mask it).' }),
    isSecret: t.exposeBoolean('isSecret', { description: 'Whether the value is secret: stored encrypted, never returned, masked as `***` in task logs.' }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for, as its owner wrote it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last set.' }),
  }),
});

builder.queryFields((t) => ({
  variables: t.prismaConnection({
    type: 'Variable',
    cursor: 'key',
    description: 'Every variable, by key (viewer, with a token not limited to some DAGs). Secret values are null.',
    authScopes: { role: 'viewer', everyDag: true },
    ...pageLimits,
    resolve: (query, _root, _args, ctx) => ctx.prisma.variable.findMany({ ...query, orderBy: { key: 'asc' } }),
  }, ...pageTypes('Variable', 'variables')),
  variable: t.prismaField({
    type: 'Variable',
    description: 'One variable (NOT_FOUND when there is none). A secret one’s value is null.',
    args: { key: t.arg.string({ required: true, description: 'The variable’s key.' }) },
    authScopes: { role: 'viewer', everyDag: true },
    resolve: async (query, _root, args, ctx) => {
      checkVariableKey(args.key);
      const found = await ctx.prisma.variable.findUnique({ ...query, where: { key: args.key } });
      if (!found) throw notFound(`Variable "${args.key}" does not exist`);
      return found;
    },
  }),
}));

const SetVariableInput = builder.inputType('SetVariableInput', {
  description: 'A variable to create or replace.',
  fields: (t) => ({
    key: t.string({ required: true, description: '1 to 250 characters: letters, digits, `_`, `-`, `.`.' }),
    value: t.string({ required: true, description: 'At most 1 MiB.' }),
    isSecret: t.boolean({
      description: 'Store the value encrypted and never return it. Default: whether the key looks sensitive (it contains password, secret, token, api_key…).',
    }),
    description: t.string({ description: 'What it is for.' }),
  }),
});

const SetVariablePayload = builder.objectRef<{ key: string; isSecret: boolean }>('SetVariablePayload').implement({
  description: 'What `setVariable` stored.',
  fields: (t) => ({
    variable: t.prismaField({
      type: 'Variable',
      description: 'The variable as stored now (a secret one without its value).',
      resolve: (query, payload, _args, ctx) => ctx.prisma.variable.findUniqueOrThrow({ ...query, where: { key: payload.key } }),
    }),
  }),
});

const DeleteVariableInput = builder.inputType('DeleteVariableInput', {
  description: 'The variable to delete.',
  fields: (t) => ({ key: t.string({ required: true, description: 'The variable’s key.' }) }),
});
const DeleteVariablePayload = builder.objectRef<{ key: string }>('DeleteVariablePayload').implement({
  description: 'What `deleteVariable` deleted.',
  fields: (t) => ({ key: t.exposeString('key', { description: 'The deleted variable’s key.' }) }),
});

builder.mutationFields((t) => ({
  setVariable: t.field({
    type: SetVariablePayload,
    description: 'Creates or replaces a variable (op). A secret value is stored encrypted and can never be read back through the API.',
    args: { input: t.arg({ type: SetVariableInput, required: true, description: 'The variable.' }) },
    authScopes: { role: 'op', everyDag: true },
    // Never the value, secret or not.
    audit: ({ input }, result) => ({ target: `variable:${input.key}`, details: result ? { isSecret: result.isSecret } : null }),
    resolve: (_root, { input }, ctx) => withSecrets(() => setVariable(ctx.prisma, input, apiSecretKey(ctx))),
  }),
  deleteVariable: t.field({
    type: DeleteVariablePayload,
    description: 'Deletes a variable (op); NOT_FOUND when there is none.',
    args: { input: t.arg({ type: DeleteVariableInput, required: true, description: 'Which variable.' }) },
    authScopes: { role: 'op', everyDag: true },
    audit: ({ input }) => ({ target: `variable:${input.key}` }),
    resolve: async (_root, { input }, ctx) => {
      await deleteVariable(ctx.prisma, input.key);
      return { key: input.key };
    },
  }),
}));
