// Every input the caller got wrong answers BAD_USER_INPUT, whoever noticed: graphql-js
// coercing a variable (`Variable "$from" got invalid value "yesterday"`) or a literal (a
// scalar refusing it during validation), or Pothos checking connection arguments and cursors
// (`Invalid cursor`, `first` below 0). Their messages already say what was wrong.
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Whether a resolver's error is the caller's input; if so its code becomes BAD_USER_INPUT,
 * in place (a replaced error would be logged by Yoga as unexpected).
 */
export function markInputError(error: GraphQLError, thrown: unknown): boolean {
  if (!(thrown instanceof PothosValidationError)) return false;
  (error.extensions as Record<string, unknown>)['code'] = 'BAD_USER_INPUT';
  return true;
}

const VALUE_KINDS = new Set<string>([Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOLEAN, Kind.ENUM, Kind.LIST, Kind.OBJECT, Kind.NULL]);

/** Gives coercion errors of variables and literals the code BAD_USER_INPUT (HTTP status unchanged). */
export function inputErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        for (const error of ('errors' in single ? single.errors : undefined) ?? []) {
          const extensions = error.extensions as Record<string, unknown>;
          const variable = extensions['code'] === undefined && /^Variable "\$[^"]+" got invalid value/.test(error.message);
          // A literal that a scalar or enum refused is reported at the literal's own node.
          const literal = extensions['code'] === 'GRAPHQL_VALIDATION_FAILED' && error.nodes?.length === 1 && VALUE_KINDS.has(error.nodes[0]!.kind);
          if (variable || literal) extensions['code'] = 'BAD_USER_INPUT';
        }
      }
    },
  };
}
