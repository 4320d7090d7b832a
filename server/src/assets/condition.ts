// Asset schedules: the condition an asset-scheduled DAG waits for, as the DAG structure stores
// it (`{ asset: uri } | { any: [...] } | { all: [...] }`, built by the SDK's asset(), anyOf(),
// allOf() and lists), how deploy validates it, and how the scheduler evaluates it.
import { assetUriProblem, MAX_ASSET_CONDITION_ASSETS, MAX_ASSET_CONDITION_DEPTH, type AssetConditionSpec } from '@updraft/sdk';
import { z } from 'zod';

export type { AssetConditionSpec };

/** A URI a deploy accepts, with the SDK's own rules. */
export const assetUriSchema = z.string().superRefine((uri, ctx) => {
  const problem = assetUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const conditionShape: z.ZodType<AssetConditionSpec> = z.lazy(() =>
  z.union([
    z.strictObject({ asset: assetUriSchema }),
    z.strictObject({ any: z.array(conditionShape).min(1, 'anyOf needs at least one asset') }),
    z.strictObject({ all: z.array(conditionShape).min(1, 'a list of assets (allOf) needs at least one') }),
  ]),
);

/**
 * An asset condition, as a deploy accepts it. Its nesting and size are checked first, by an
 * iterative walk, so that zod's recursive parse only ever sees a bounded condition: a bundle
 * emitting a condition nested 100,000 deep gets an import error, not a stack overflow.
 */
export const assetConditionSchema: z.ZodType<AssetConditionSpec> = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = assetConditionProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, fatal: true });
  })
  .pipe(conditionShape) as unknown as z.ZodType<AssetConditionSpec>;

/** Why a condition is too deep or names too many assets, or null. Iterative, over any JSON value. */
export function assetConditionProblem(condition: unknown): string | null {
  let assets = 0;
  const stack: Array<{ c: unknown; depth: number }> = [{ c: condition, depth: 1 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (item.depth > MAX_ASSET_CONDITION_DEPTH + 1) return `nests anyOf/allOf more than ${MAX_ASSET_CONDITION_DEPTH} levels deep`;
    const c = item.c as { asset?: unknown; any?: unknown; all?: unknown } | null;
    if (typeof c !== 'object' || c === null) continue; // the shape's own check says what is wrong
    if ('asset' in c) {
      if (++assets > MAX_ASSET_CONDITION_ASSETS) return `names more than ${MAX_ASSET_CONDITION_ASSETS} assets`;
    }
    for (const operands of [c.any, c.all]) {
      if (!Array.isArray(operands)) continue;
      if (operands.length > MAX_ASSET_CONDITION_ASSETS) return `names more than ${MAX_ASSET_CONDITION_ASSETS} assets`;
      for (const operand of operands) stack.push({ c: operand, depth: item.depth + 1 });
    }
  }
  return null;
}

/** Every URI a condition names, once each, in order of first mention. */
export function conditionUris(condition: AssetConditionSpec): string[] {
  const uris = new Set<string>();
  const walk = (c: AssetConditionSpec): void => {
    if ('asset' in c) uris.add(c.asset);
    else ('any' in c ? c.any : c.all).forEach(walk);
  };
  walk(condition);
  return [...uris];
}

/**
 * Whether the condition holds when the assets in `updated` have been updated since the DAG's
 * last asset-triggered run (Airflow's `evaluate`): an asset holds when it was updated, `any`
 * when one operand holds, `all` when every one does.
 */
export function conditionHolds(condition: AssetConditionSpec, updated: ReadonlySet<string>): boolean {
  if ('asset' in condition) return updated.has(condition.asset);
  if ('any' in condition) return condition.any.some((c) => conditionHolds(c, updated));
  return condition.all.every((c) => conditionHolds(c, updated));
}

/** The condition as people write it: `a`, `(a | b)`, `(a & b)`. */
export function describeCondition(condition: AssetConditionSpec): string {
  if ('asset' in condition) return condition.asset;
  const parts = ('any' in condition ? condition.any : condition.all).map(describeCondition);
  return parts.length === 1 ? parts[0]! : `(${parts.join('any' in condition ? ' | ' : ' & ')})`;
}
