// How much one GraphQL request may ask for. Every limit refuses the operation before any
// resolver runs (nothing is read from the database), with HTTP 400 and
// `extensions.code: "QUERY_LIMIT_EXCEEDED"` (a page size too big is a BAD_USER_INPUT).
// Sized so that what the dashboard needs passes with room to spare: a DAG list with tasks
// and last runs (depth 7), a run with `taskInstances(first: 1000)` down to the last lines of
// each try's log (depth 9, cost ~1 million), a grid of 25 runs × 100 tasks (~35,000; 100 runs
// × 1,000 tasks ~1.4 million); test/api-security.test.ts runs the first two.
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { complexityFromQuery } from '@pothos/plugin-complexity';
import type { GraphQLError, ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput, UpdraftError } from '../errors.js';

export const LIMITS = {
  /**
   * Lexical tokens in a document (the run page above has ~100, GraphiQL's introspection ~180).
   * It bounds every pass over the document, and graphql-js parses recursively: ~2,000 nested
   * list brackets overflow the stack, so this must stay well below that.
   */
  maxTokens: 1_000,
  /** Nesting of selections (`dagRun { dag { runs { edges { node … } } } }` is 5). */
  maxDepth: 10,
  /** Aliased fields per operation: the way to ask for one expensive field many times. */
  maxAliases: 20,
  /** Directives per operation (`@include`/`@skip`). */
  maxDirectives: 50,
  /**
   * Estimated cost (plugin-complexity, computed with the request's variables): 1 per field,
   * a connection's selection × its page size, other lists' selections × 10, JSON values 10.
   * The run page with 1,000 task instances, their tries and their logs' last 5 lines costs
   * ~1 million; a grid's cost is its rows' times its runs; two nested pages of 1,000 (a
   * million rows) cost 3 million.
   */
  maxComplexity: 2_000_000,
  /**
   * A subscription's cost: its selection is read again for every event (up to 10 a second),
   * so it may cost a tenth of a query. Following a run with its changed task instances
   * costs ~5,000; their tries' logs too (`taskInstances { tries { logs … } }`) are refused.
   */
  maxSubscriptionComplexity: 200_000,
  /** Largest `first`/`last` of a connection; more is refused (BAD_USER_INPUT), not clamped. */
  maxPageSize: 1_000,
  /** A connection's page size when neither `first` nor `last` is given. */
  defaultPageSize: 100,
  /** Request bodies: a 1 MiB run conf (runs.ts MAX_CONF_BYTES) escaped as JSON fits with room to spare. */
  maxRequestBytes: 4 * 1024 * 1024,
  /**
   * Nesting of the request's `variables` and `extensions` (a run conf may nest 64 levels,
   * runs.ts MAX_CONF_DEPTH): deeper JSON is refused before anything walks it recursively.
   */
  maxJsonDepth: 100,
} as const;

/** Cost of a JSON field (conf, return values, errors, log fields): it can be large. */
export const JSON_FIELD_COST = 10;

/** The refusal of an operation for its size: HTTP 400 whatever the Accept header. */
export function limitExceeded(message: string): UpdraftError {
  return new UpdraftError('QUERY_LIMIT_EXCEEDED', message, { httpStatus: 400 });
}

/** A connection's page size for the given arguments; a page bigger than the limit is refused. */
export function pageSize(args: { first?: number | null; last?: number | null }): number {
  const requested = args.first ?? args.last;
  if (requested != null && requested > LIMITS.maxPageSize) {
    throw badInput(`${args.first != null ? 'first' : 'last'} is ${requested}; a page holds at most ${LIMITS.maxPageSize} items`);
  }
  return requested ?? LIMITS.defaultPageSize;
}

/** Connection options that apply the page limits (spread into every `prismaConnection`/`relatedConnection`). */
export const pageLimits = {
  defaultSize: LIMITS.defaultPageSize,
  maxSize: (args: { first?: number | null; last?: number | null }) => {
    pageSize(args); // refuses a page over the limit
    return LIMITS.maxPageSize;
  },
};

/**
 * graphql-armor's checks, at parse (tokens) and validation (depth, aliases, directives), so a
 * refused document never reaches execution. Their rejections are reported as
 * QUERY_LIMIT_EXCEEDED errors with status 400 (plain validation errors answer 200 to clients
 * that accept `application/json`).
 */
export function limitPlugins(): Plugin[] {
  // Each validation rule reports its refusal instead of throwing it, so it is a validation error.
  const report = (context: ValidationContext | null, error: GraphQLError) => {
    context?.reportError(limitExceeded(error.message.replace(/^Syntax Error: /, '')));
  };
  const validation = { exposeLimits: true, propagateOnRejection: false, onReject: [report] };
  const tokenRefusals = new WeakSet<Error>();
  return [
    {
      // Before variables are coerced: graphql-js and the resolvers then never see deep JSON.
      onParams({ params }) {
        for (const [name, value] of [['variables', params.variables], ['extensions', params.extensions]] as const) {
          if (jsonDepthExceeds(value, LIMITS.maxJsonDepth)) {
            throw new UpdraftError('BAD_USER_INPUT', `${name} are nested more than ${LIMITS.maxJsonDepth} levels deep`, { httpStatus: 400 });
          }
        }
      },
    },
    maxTokensPlugin({ n: LIMITS.maxTokens, exposeLimits: true, onReject: [(_context, error) => tokenRefusals.add(error)] }),
    {
      // The token limit aborts parsing by throwing; turn that into the same refusal.
      onParse: () => ({ result, replaceParseResult }) => {
        if (result instanceof Error && tokenRefusals.has(result)) {
          replaceParseResult(limitExceeded(result.message.replace(/^Syntax Error: /, '')));
        }
      },
    },
    {
      // Yoga flags parse errors as "spec" errors, which it answers with 200 to clients that
      // accept application/json; a refusal keeps its 400 whatever the client accepts.
      onResultProcess({ result }) {
        for (const single of Array.isArray(result) ? result : [result]) {
          for (const error of ('errors' in single ? single.errors : undefined) ?? []) {
            const http = error.extensions?.['http'] as { spec?: boolean } | undefined;
            if (error.extensions?.['code'] === 'QUERY_LIMIT_EXCEEDED' && http) http.spec = false;
          }
        }
      },
    },
    {
      // plugin-complexity checks a query's cost as its first root field resolves; a
      // subscription's root field resolves once per event, after the stream has started.
      // Its cost is checked here instead, before it subscribes to anything, against a
      // lower limit.
      onSubscribe({ args, setResultAndStopExecution }) {
        const { complexity } = complexityFromQuery(args.document, { schema: args.schema, variables: args.variableValues ?? {}, ctx: args.contextValue as object });
        if (complexity > LIMITS.maxSubscriptionComplexity) {
          const message = `Subscription cost ${complexity} exceeds the limit of ${LIMITS.maxSubscriptionComplexity} (its selection is read again for every event; a list costs its selection times its length)`;
          setResultAndStopExecution({ errors: [limitExceeded(message)] });
        }
      },
    },
    maxDepthPlugin({ n: LIMITS.maxDepth, ...validation }),
    maxAliasesPlugin({ n: LIMITS.maxAliases, ...validation }),
    maxDirectivesPlugin({ n: LIMITS.maxDirectives, ...validation }),
  ];
}

/** Whether `value` nests objects/arrays more than `max` levels deep; iterative, so any depth is safe. */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
