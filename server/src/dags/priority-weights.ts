/**
 * Effective priority weights (Airflow's weight rules, `priority_strategy.py`), computed once
 * per deploy: `downstream` is a task's own weight plus the weights of every task downstream
 * of it (each counted once, however many paths lead there), `upstream` the same upstream,
 * `absolute` its own weight. Sums are clamped to PostgreSQL's integer range, as Airflow's
 * `db_safe_priority` does.
 */
export type WeightRule = 'downstream' | 'upstream' | 'absolute';

export const MIN_WEIGHT = -2_147_483_648;
export const MAX_WEIGHT = 2_147_483_647;

export interface WeightedTask {
  id: string;
  upstreamIds: string[];
  weight: number;
  rule: WeightRule;
}

/** Memory the reachability bitsets may use at once, in 32-bit words (16 MB). */
const WORD_BUDGET = 4_000_000;

/**
 * The effective weight of every task, by id. `tasks` must be acyclic. Cost: O(n·e/32) word
 * operations and at most WORD_BUDGET words of memory whatever the DAG's size: the sets of
 * tasks reachable from each task are built as bitsets over one block of target tasks at a
 * time, and each block's weights are summed with a popcount per distinct weight (by visiting
 * the set bits when there are many distinct weights: O(n²) additions at worst).
 */
export function effectiveWeights(tasks: WeightedTask[]): Map<string, number> {
  const result = new Map(tasks.map((t) => [t.id, t.weight]));
  for (const direction of ['downstream', 'upstream'] as const) {
    const ruled = tasks.some((t) => t.rule === direction);
    if (!ruled) continue;
    const sums = relativeSums(tasks, direction);
    tasks.forEach((t, i) => {
      if (t.rule === direction) result.set(t.id, clamp(t.weight + sums[i]!));
    });
  }
  return result;
}

/** For each task (by index), the sum of the weights of the tasks reachable from it along `direction`. */
function relativeSums(tasks: WeightedTask[], direction: 'downstream' | 'upstream'): number[] {
  const n = tasks.length;
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  // next[i]: the tasks one step from i along `direction`.
  const next: number[][] = tasks.map(() => []);
  tasks.forEach((t, i) => {
    for (const up of t.upstreamIds) {
      const u = index.get(up)!;
      if (direction === 'downstream') next[u]!.push(i);
      else next[i]!.push(u);
    }
  });
  const order = reverseTopological(next);
  const sums = new Array<number>(n).fill(0);
  const words = Math.max(1, Math.min(Math.ceil(n / 32), Math.floor(WORD_BUDGET / Math.max(n, 1))));
  const blockSize = words * 32;
  for (let start = 0; start < n; start += blockSize) {
    const end = Math.min(n, start + blockSize);
    const bits = new Uint32Array(n * words);
    // Children before parents: a task's set is the union of its successors' sets and themselves.
    for (const i of order) {
      const row = i * words;
      for (const j of next[i]!) {
        const other = j * words;
        for (let w = 0; w < words; w++) bits[row + w]! |= bits[other + w]!;
        if (j >= start && j < end) bits[row + ((j - start) >>> 5)]! |= 1 << ((j - start) & 31);
      }
    }
    // Masks of the block's tasks by weight, so a sum is a few popcounts per word.
    const masks = new Map<number, Uint32Array>();
    for (let j = start; j < end; j++) {
      const mask = masks.get(tasks[j]!.weight) ?? new Uint32Array(words);
      mask[(j - start) >>> 5]! |= 1 << ((j - start) & 31);
      masks.set(tasks[j]!.weight, mask);
    }
    for (let i = 0; i < n; i++) {
      const row = i * words;
      if (masks.size > 32) {
        // Many distinct weights: visit the set bits instead (at most n per task and block).
        for (let w = 0; w < words; w++) {
          for (let word = bits[row + w]!; word !== 0; word &= word - 1) {
            sums[i]! += tasks[start + w * 32 + (31 - Math.clz32(word & -word))]!.weight;
          }
        }
        continue;
      }
      for (const [weight, mask] of masks) {
        if (weight === 0) continue;
        let count = 0;
        for (let w = 0; w < words; w++) count += popcount(bits[row + w]! & mask[w]!);
        sums[i]! += weight * count;
      }
    }
  }
  return sums;
}

/** Task indexes such that each comes after every task `next` leads it to. */
function reverseTopological(next: number[][]): number[] {
  const n = next.length;
  const pending = next.map((targets) => targets.length);
  const previous: number[][] = next.map(() => []);
  next.forEach((targets, i) => targets.forEach((j) => previous[j]!.push(i)));
  const ready = pending.flatMap((count, i) => (count === 0 ? [i] : []));
  const order: number[] = [];
  for (let k = 0; k < ready.length; k++) {
    const j = ready[k]!;
    order.push(j);
    for (const i of previous[j]!) if (--pending[i]! === 0) ready.push(i);
  }
  if (order.length !== n) throw new Error('effectiveWeights: the tasks form a cycle');
  return order;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function clamp(weight: number): number {
  return Math.max(MIN_WEIGHT, Math.min(MAX_WEIGHT, weight));
}
