// What a DAG structure looks like as a graph, for those who draw it (the API's tasks, edges,
// groups and grid rows). Each view is computed once per structure object and kept with it.
import type { DagStructure, TaskStructure } from './structure.js';

/** A dependency: `downstreamId` runs after `upstreamId`. */
export interface TaskEdge {
  upstreamId: string;
  downstreamId: string;
}

/** A task group (`group(id, ...)` in the SDK) and what it holds directly. */
export interface TaskGroupView {
  /** Full id: the ids of the enclosing groups and its own, joined by dots (`outer.inner`). */
  id: string;
  /** The enclosing group's full id, or null at the top level. */
  parentId: string | null;
  /** Ids of the tasks declared directly in it, in topological order. */
  taskIds: string[];
  /** Full ids of the groups directly inside it. */
  childIds: string[];
}

export interface DagGraph {
  /** Tasks upstream first: a stable topological order that keeps declaration order among peers. */
  ordered: TaskStructure[];
  edges: TaskEdge[];
  groups: TaskGroupView[];
  /** The distinct owners of the tasks, sorted. */
  owners: string[];
}

const graphs = new WeakMap<DagStructure, DagGraph>();

/** The graph views of a structure (cached with it: a 10,000-task DAG is sorted once). */
export function graphOf(structure: DagStructure): DagGraph {
  let graph = graphs.get(structure);
  if (!graph) {
    const ordered = topologicalOrder(structure.tasks);
    graph = {
      ordered,
      edges: ordered.flatMap((t) => t.downstreamIds.map((downstreamId) => ({ upstreamId: t.id, downstreamId }))),
      groups: groupsOf(ordered),
      owners: [...new Set(structure.tasks.flatMap((t) => (t.owner ? [t.owner] : [])))].sort(),
    };
    graphs.set(structure, graph);
  }
  return graph;
}

/**
 * Kahn's algorithm, taking ready tasks in declaration order (`x.after(y)` can declare a task
 * before its upstream). A structure was checked for cycles at deploy; a task left over by
 * one anyway is appended rather than lost.
 */
function topologicalOrder(tasks: TaskStructure[]): TaskStructure[] {
  const position = new Map(tasks.map((t, i) => [t.id, i]));
  const waiting = new Map(tasks.map((t) => [t.id, t.upstreamIds.filter((id) => position.has(id)).length]));
  const byId = new Map(tasks.map((t) => [t.id, t]));
  // Ready tasks by declaration position: a binary heap keeps this O(n log n) for 10,000 tasks.
  const ready = new MinHeap();
  for (const t of tasks) if (waiting.get(t.id) === 0) ready.push(position.get(t.id)!);
  const ordered: TaskStructure[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    const task = tasks[i]!;
    ordered.push(task);
    for (const down of task.downstreamIds) {
      const left = waiting.get(down)! - 1;
      waiting.set(down, left);
      if (left === 0 && byId.has(down)) ready.push(position.get(down)!);
    }
  }
  if (ordered.length < tasks.length) {
    const seen = new Set(ordered);
    ordered.push(...tasks.filter((t) => !seen.has(t)));
  }
  return ordered;
}

function groupsOf(ordered: TaskStructure[]): TaskGroupView[] {
  const groups = new Map<string, TaskGroupView>();
  const ensure = (id: string): TaskGroupView => {
    let group = groups.get(id);
    if (!group) {
      const dot = id.lastIndexOf('.');
      const parentId = dot < 0 ? null : id.slice(0, dot);
      const parent = parentId === null ? null : ensure(parentId); // listed before its children
      group = { id, parentId, taskIds: [], childIds: [] };
      groups.set(id, group);
      parent?.childIds.push(id);
    }
    return group;
  };
  for (const task of ordered) if (task.groupId) ensure(task.groupId).taskIds.push(task.id);
  return [...groups.values()];
}

class MinHeap {
  readonly #items: number[] = [];

  push(value: number): void {
    const items = this.#items;
    items.push(value);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= items[i]!) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && items[left]! < items[smallest]!) smallest = left;
        if (right < items.length && items[right]! < items[smallest]!) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i]!, items[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}
