import { XComArg, isXComArg } from './xcom-arg.js';
import type { MapSpec } from './structure.js';

const ZIPPED = Symbol.for('@updraft/sdk/Zipped');

/** Lists zipped together with `zip()`: mapping over it gives each instance one tuple. */
export class Zipped<T extends unknown[]> {
  declare readonly [ZIPPED]: true;
  /** Phantom: the tuple each mapped instance receives. */
  declare readonly __item?: T;

  /** @internal use `zip()` */
  constructor(readonly sources: ReadonlyArray<XComArg<unknown> | readonly unknown[]>) {
    Object.defineProperty(this, ZIPPED, { value: true });
  }
}

/**
 * What `task.map()` maps over, for a task whose first parameter is `T`: a literal array,
 * an upstream task's array output (a mapped task's list of outputs included), or `zip()`.
 */
export type MapItems<T> = XComArg<readonly T[]> | readonly T[] | (T extends unknown[] ? Zipped<T> : never);

/**
 * Zips lists for `task.map()` (Airflow's `XComArg.zip`): instance `i` receives the tuple of
 * the lists' `i`-th elements, and there are as many instances as the shortest list has
 * elements. Each list is a literal array or an upstream task's array output.
 *
 * ```ts
 * const add = task('add', ([a, b]: [number, number]) => a + b);
 * add.map(zip(left(), [10, 20, 30]));
 * ```
 */
export function zip<T extends unknown[]>(...lists: { [K in keyof T]: XComArg<readonly T[K][]> | readonly T[K][] }): Zipped<T> {
  if (lists.length === 0) throw new TypeError('zip() needs at least one list.');
  lists.forEach((list, i) => {
    if (!isXComArg(list) && !Array.isArray(list)) throw new TypeError(`zip(): argument ${i + 1} is not an array or a task's output.`);
  });
  return new Zipped<T>(lists as ReadonlyArray<XComArg<unknown> | readonly unknown[]>);
}

function isZipped(value: unknown): value is Zipped<unknown[]> {
  return typeof value === 'object' && value !== null && (value as { [ZIPPED]?: unknown })[ZIPPED] === true;
}

/** The structure's description of what a `.map()` call maps over, and the upstream ids it adds. */
export function mapSpecOf(taskId: string, items: unknown): { spec: MapSpec; upstreamIds: string[] } {
  const zipped = isZipped(items);
  const lists = zipped ? items.sources : [items];
  const upstreamIds: string[] = [];
  const sources = lists.map((list) => {
    if (isXComArg(list)) {
      upstreamIds.push(list.taskId);
      return { xcom: { taskId: list.taskId, key: list.key } };
    }
    if (!Array.isArray(list)) {
      throw new TypeError(`${taskId}.map() maps over an array, a task's output or zip(...); got ${list === null ? 'null' : typeof list}.`);
    }
    return { value: JSON.parse(JSON.stringify(list)) as unknown[] };
  });
  return { spec: { sources, zip: zipped }, upstreamIds };
}
