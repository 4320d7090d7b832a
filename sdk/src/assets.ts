/**
 * Assets (Airflow's Asset, formerly Dataset): data that tasks update, named by a URI. A task
 * lists the assets it updates in `outlets`; each successful try records an *asset event* per
 * outlet. A DAG scheduled on assets runs when they have been updated since its last
 * asset-triggered run:
 *
 * ```ts
 * const sales = asset('s3://bucket/sales');
 * const stock = asset('s3://bucket/stock');
 * task({ id: 'load_sales', outlets: [sales] }, () => load());
 * dag({ id: 'report', schedule: [sales, stock] }, ...);          // both updated since the last run
 * dag({ id: 'refresh', schedule: anyOf(sales, stock) }, ...);    // either one
 * dag({ id: 'mixed', schedule: anyOf(sales, allOf(stock, prices)) }, ...);
 * ```
 */

const ASSET = Symbol.for('@updraft/sdk/Asset');

/** Longest asset URI (Airflow's limit). */
export const MAX_ASSET_URI_LENGTH = 1500;
/** Deepest nesting of `anyOf`/`allOf` in an asset schedule. */
export const MAX_ASSET_CONDITION_DEPTH = 8;
/** Most assets one asset schedule may name. */
export const MAX_ASSET_CONDITION_ASSETS = 100;

/** An asset: data a task updates, identified by its URI. Create one with `asset(uri)`. */
export class Asset {
  declare readonly [ASSET]: true;
  /** @internal use `asset()` */
  constructor(readonly uri: string) {
    Object.defineProperty(this, ASSET, { value: true });
  }
}

/** Either condition holds (Airflow's `AssetAny`, `a | b`). */
export interface AnyOf {
  readonly any: readonly AssetCondition[];
}

/** Every condition holds (Airflow's `AssetAll`, `a & b`, and a list of assets). */
export interface AllOf {
  readonly all: readonly AssetCondition[];
}

/** When an asset-scheduled DAG runs: an asset was updated, or a combination of them. */
export type AssetCondition = Asset | AnyOf | AllOf;

/**
 * What `DagOptions.schedule` takes besides a cron expression: an asset, a list of assets (all
 * of them updated since the DAG's last asset-triggered run) or a condition made with `anyOf`/`allOf`.
 */
export type AssetSchedule = Asset | readonly Asset[] | AnyOf | AllOf;

/** An asset condition as the DAG structure stores it. */
export type AssetConditionSpec = { asset: string } | { any: AssetConditionSpec[] } | { all: AssetConditionSpec[] };

/** Why `uri` cannot name an asset, or null when it can. Shared with the platform's validation. */
export function assetUriProblem(uri: unknown): string | null {
  if (typeof uri !== 'string') return `an asset URI must be a string, got ${typeof uri}`;
  if (uri.length === 0) return 'an asset URI must not be empty';
  if (uri.length > MAX_ASSET_URI_LENGTH) return `an asset URI has at most ${MAX_ASSET_URI_LENGTH} characters (this one has ${uri.length})`;
  // Printable ASCII without spaces, as Airflow requires (a URI, not free text).
  if (!/^[\x21-\x7e]+$/.test(uri)) return `asset URI ${JSON.stringify(uri.slice(0, 80))} must be printable ASCII without spaces (percent-encode anything else)`;
  return null;
}

/**
 * Declares an asset by its URI (`s3://bucket/key`, `postgres://db/schema/table`, or any
 * name with a scheme). Two `asset()` calls with the same URI are the same asset.
 */
export function asset(uri: string): Asset {
  const problem = assetUriProblem(uri);
  if (problem) throw new TypeError(`asset(): ${problem}`);
  return new Asset(uri);
}

export function isAsset(value: unknown): value is Asset {
  return typeof value === 'object' && value !== null && (value as { [ASSET]?: unknown })[ASSET] === true;
}

/** Runs when any of the conditions holds: an asset updated since the DAG's last asset-triggered run. */
export function anyOf(...conditions: AssetCondition[]): AnyOf {
  checkOperands('anyOf', conditions);
  return { any: conditions };
}

/** Runs when all of the conditions hold (what a list of assets means). */
export function allOf(...conditions: AssetCondition[]): AllOf {
  checkOperands('allOf', conditions);
  return { all: conditions };
}

function checkOperands(what: string, conditions: unknown[]): void {
  if (conditions.length === 0) throw new TypeError(`${what}() needs at least one asset or condition.`);
  conditions.forEach((c, i) => {
    if (!isAsset(c) && !isCondition(c)) throw new TypeError(`${what}(): argument ${i + 1} is not an asset or a condition: use asset('uri'), anyOf(...) or allOf(...).`);
  });
}

function isCondition(value: unknown): value is AnyOf | AllOf {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { any?: unknown; all?: unknown };
  return Array.isArray(v.any) || Array.isArray(v.all);
}

/** Whether a `schedule` option is an asset schedule (rather than a cron expression or null). */
export function isAssetSchedule(schedule: unknown): schedule is AssetSchedule {
  return Array.isArray(schedule) || isCondition(schedule) || isAsset(schedule);
}

/** The structure's form of an asset schedule: a list becomes `all`. */
export function assetConditionSpec(schedule: AssetSchedule): AssetConditionSpec {
  const walk = (c: AssetCondition | readonly AssetCondition[], depth: number): AssetConditionSpec => {
    if (depth > MAX_ASSET_CONDITION_DEPTH) throw new TypeError(`An asset schedule nests anyOf/allOf more than ${MAX_ASSET_CONDITION_DEPTH} levels deep.`);
    if (Array.isArray(c)) {
      checkOperands('schedule', c);
      return { all: c.map((item) => walk(item, depth + 1)) };
    }
    if (isAsset(c)) return { asset: c.uri };
    const cond = c as AnyOf | AllOf;
    return 'any' in cond ? { any: cond.any.map((item) => walk(item, depth + 1)) } : { all: cond.all.map((item) => walk(item, depth + 1)) };
  };
  return walk(schedule as AssetCondition, 1);
}
