// A Pothos plugin that makes every mutation audited and authorized: a Mutation field without an
// `audit` option or without `authScopes` fails the schema build, and every Mutation resolver is
// wrapped (outside scope-auth, so denials are seen) to write one audit row per attempt:
// `success`, `denied` (UNAUTHENTICATED/FORBIDDEN) or `failed: <message>`.
import SchemaBuilder, {
  BasePlugin,
  type FieldNullability,
  type InputFieldMap,
  type InputShapeFromFields,
  type PothosOutputFieldConfig,
  PothosSchemaError,
  type SchemaTypes,
  type ShapeFromTypeParam,
  type TypeParam,
} from '@pothos/core';
import { GraphQLError, type GraphQLFieldResolver } from 'graphql';
import type { AuditOutcome, AuditSubject } from '../audit.js';

/**
 * What a mutation acted on, for its audit row. Called with the arguments and, after a success,
 * the resolver's result (undefined when it was denied or failed, so the subject must be
 * derivable from the arguments alone then), and the request's context (to look up, say, the
 * DAG of a run). Must never put a secret in `details`. If it throws, the row names no target.
 */
export type MutationAudit<Args, Result, Context = unknown> = (args: Args, result: Result | undefined, context: Context) => AuditSubject | Promise<AuditSubject>;

/** What the plugin needs from the application: how to write a row for a request. */
export interface AuditPluginOptions<Types extends SchemaTypes> {
  record(context: Types['Context'], entry: AuditSubject & { action: string; outcome: AuditOutcome }): Promise<void>;
}

const pluginName = 'audit';

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      audit: PothosAuditPlugin<Types>;
    }
    interface SchemaBuilderOptions<Types extends SchemaTypes> {
      audit: AuditPluginOptions<Types>;
    }
    interface MutationFieldOptions<Types extends SchemaTypes, Type extends TypeParam<Types>, Nullable extends FieldNullability<Type>, Args extends InputFieldMap, ResolveReturnShape> {
      /** Required: what the audit row of each attempt names (see MutationAudit). */
      audit: MutationAudit<InputShapeFromFields<Args>, ShapeFromTypeParam<Types, Type, Nullable>, Types['Context']>;
    }
  }
}

export class PothosAuditPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.parentType !== 'Mutation') return fieldConfig;
    const options = fieldConfig.pothosOptions as { audit?: unknown; authScopes?: unknown };
    if (typeof options.audit !== 'function') {
      throw new PothosSchemaError(`Mutation.${fieldConfig.name} has no audit option: every mutation must say what its audit row names (api/audit-plugin.ts)`);
    }
    if (options.authScopes === undefined) {
      throw new PothosSchemaError(`Mutation.${fieldConfig.name} has no authScopes: every mutation must say which role (and DAG grant) it needs (auth.ts)`);
    }
    return fieldConfig;
  }

  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    const describe = (fieldConfig.pothosOptions as { audit: MutationAudit<object, unknown, Types['Context']> }).audit;
    const { record } = this.builder.options.audit;
    const action = fieldConfig.name;
    return async (parent, args, context, info) => {
      let result: unknown;
      try {
        result = await resolver(parent, args, context, info);
      } catch (e) {
        await record(context, { action, ...(await subjectOf(describe, args, undefined, context)), outcome: outcomeOf(e) });
        throw e;
      }
      await record(context, { action, ...(await subjectOf(describe, args, result, context)), outcome: 'success' });
      return result;
    };
  }
}

async function subjectOf<Context>(describe: MutationAudit<object, unknown, Context>, args: object, result: unknown, context: Context): Promise<AuditSubject> {
  try {
    return await describe(args, result, context);
  } catch {
    return { target: null }; // the row is written all the same
  }
}

/** Refusals are `denied`; errors a caller can fix keep their message; anything else is masked as the API masks it. */
function outcomeOf(e: unknown): AuditOutcome {
  const code = e instanceof GraphQLError ? e.extensions?.['code'] : undefined;
  if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return 'denied';
  if (typeof code === 'string') return `failed: ${(e as GraphQLError).message}`;
  return 'failed: Unexpected error.';
}

SchemaBuilder.registerPlugin(pluginName, PothosAuditPlugin);

export default pluginName;
