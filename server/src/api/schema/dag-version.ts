// A DAG version's structure as the API shows it: tasks, edges, groups, owners, params and the
// DAG file's source. Structures are read through dags/versions.ts (cached; several versions
// in one statement), never parsed per field.
import { graphOf, type TaskEdge as Edge, type TaskGroupView } from '../../dags/graph.js';
import type { DagStructure, TaskStructure } from '../../dags/structure.js';
import { loadStructures } from '../../dags/versions.js';
import { batch } from '../batch.js';
import { builder, type ApiContext } from '../builder.js';
import { JSON_FIELD_COST } from '../limits.js';

/** The structure of a DagVersion, batched with the other versions the request reads. */
export function structureOf(ctx: ApiContext, dagVersionId: number): Promise<DagStructure> {
  return batch(ctx, 'structures', dagVersionId, (ids) => loadStructures(ctx.pool, ids));
}

/** Cost of a list of tasks (or edges, groups) of a structure: DAGs of thousands of tasks exist. */
const TASK_LIST_COST = { field: JSON_FIELD_COST, multiplier: 10 };

const TriggerRule = builder.enumType('TriggerRule', {
  description: 'When a task runs, given how its upstream tasks ended (Airflow’s trigger rules).',
  values: {
    all_success: { description: 'Every upstream task succeeded (the default).' },
    all_failed: { description: 'Every upstream task failed or was upstream_failed.' },
    all_done: { description: 'Every upstream task ended, whatever its state.' },
    all_done_min_one_success: { description: 'Every upstream task ended and at least one succeeded.' },
    all_skipped: { description: 'Every upstream task was skipped.' },
    one_success: { description: 'At least one upstream task succeeded (runs as soon as one has).' },
    one_failed: { description: 'At least one upstream task failed or was upstream_failed.' },
    one_done: { description: 'At least one upstream task succeeded or failed.' },
    none_failed: { description: 'No upstream task failed or was upstream_failed (skips allowed).' },
    none_failed_min_one_success: { description: 'No upstream task failed and at least one succeeded (a join after branches).' },
    none_skipped: { description: 'No upstream task was skipped.' },
    always: { description: 'Regardless of the upstream tasks; runs as soon as the run starts.' },
  } as const,
});

const TaskKind = builder.enumType('TaskKind', {
  description: 'What the platform does with a task’s outcome besides recording it.',
  values: {
    task: { description: 'A plain task.' },
    branch: { description: 'Returns the ids of the direct downstream tasks to follow; the others are skipped.' },
    short_circuit: { description: 'A falsy return value skips what follows.' },
    latest_only: { description: 'Runs no user code; skips what follows unless the run is the latest scheduled one.' },
    sensor: { description: 'Checks a condition until it holds or times out.' },
  } as const,
});

const Task = builder.objectRef<TaskStructure>('Task').implement({
  description: 'A task of a DAG version, with its dependencies and options as deployed (defaults filled in).',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Task id, unique in its DAG (`groupId.name` inside a group; `name__1` for a second call).' }),
    upstreamIds: t.exposeStringList('upstreamIds', { description: 'Ids of the tasks it runs after, sorted.' }),
    downstreamIds: t.exposeStringList('downstreamIds', { description: 'Ids of the tasks that run after it, sorted.' }),
    triggerRule: t.field({ type: TriggerRule, description: 'When it runs, given how its upstream tasks ended.', resolve: (task) => task.triggerRule }),
    kind: t.field({ type: TaskKind, description: 'A plain task, a branch, a short-circuit, a latest-only node or a sensor.', resolve: (task) => task.kind?.type ?? 'task' }),
    groupId: t.string({ nullable: true, description: 'Full id of the task group it belongs to (`outer.inner`), if any.', resolve: (task) => task.groupId ?? null }),
    owner: t.string({ nullable: true, description: 'Who answers for it (`owner` in the SDK, from the task or `defaultArgs`); null when not set.', resolve: (task) => task.owner ?? null }),
    mapped: t.boolean({ description: 'Whether it is mapped (`task.map()`): it expands into one instance per item at run time.', resolve: (task) => task.map !== undefined }),
    retries: t.exposeInt('retries', { description: 'How many times a failed try is retried.' }),
    retryDelayMs: t.exposeInt('retryDelayMs', { description: 'Wait before a retry, in milliseconds (doubled per try with exponential backoff).' }),
    timeoutMs: t.exposeInt('timeoutMs', { nullable: true, description: 'A try running longer fails with `TaskTimeout`; null: no limit.' }),
    isolation: t.exposeString('isolation', { description: '`process` (task code in an isolated child process) or `none` (in the worker’s process).' }),
    maxActiveTisPerTask: t.exposeInt('maxActiveTisPerTask', { nullable: true, description: 'For a mapped task: most instances running at once in one run; null: no cap.' }),
  }),
});

const TaskEdge = builder.objectRef<Edge>('TaskEdge').implement({
  description: 'A dependency between two tasks.',
  fields: (t) => ({
    upstreamId: t.exposeString('upstreamId', { description: 'The task that runs first.' }),
    downstreamId: t.exposeString('downstreamId', { description: 'The task that runs after it.' }),
  }),
});

const TaskGroup = builder.objectRef<TaskGroupView>('TaskGroup').implement({
  description: 'A task group (`group()` in the SDK): tasks shown and wired together.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Full id: the enclosing groups’ ids and its own, joined by dots.' }),
    parentId: t.exposeString('parentId', { nullable: true, description: 'Full id of the enclosing group; null at the top level.' }),
    taskIds: t.exposeStringList('taskIds', { description: 'Tasks declared directly in it, upstream first.' }),
    childIds: t.exposeStringList('childIds', { description: 'Full ids of the groups directly inside it.' }),
  }),
});

/** What a structure shows, for the fields of a DAG version and of a DAG (its newest version). */
export const structureView = {
  tasks: (s: DagStructure | null) => (s ? graphOf(s).ordered : []),
  edges: (s: DagStructure | null) => (s ? graphOf(s).edges : []),
  groups: (s: DagStructure | null) => (s ? graphOf(s).groups : []),
  owners: (s: DagStructure | null) => (s ? graphOf(s).owners : []),
  paramsSchema: (s: DagStructure | null) => s?.paramsSchema ?? null,
};

/** Descriptions and costs of those fields, the same on both types. */
export const STRUCTURE_FIELD_OPTIONS = {
  tasks: { description: 'The tasks, upstream first (a topological order that keeps declaration order among peers).', complexity: TASK_LIST_COST },
  edges: { description: 'Every dependency, as (upstream, downstream) pairs.', complexity: TASK_LIST_COST },
  groups: { description: 'The task groups, each after its enclosing group.', complexity: TASK_LIST_COST },
  owners: { description: 'The distinct owners of its tasks, sorted (Airflow’s DAG owners).' },
  paramsSchema: { description: 'JSON Schema of the run params (what a trigger’s conf must match), or null without a schema.', complexity: JSON_FIELD_COST },
};

export { Task, TaskEdge, TaskGroup };

builder.prismaObject('DagVersion', {
  description: 'One deployed structure and code of a DAG. A deploy adds a version only when either changed; each run keeps the version it started with.',
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The version’s id.', resolve: (v) => String(v.id) }),
    dagId: t.exposeString('dagId', { description: 'The DAG it is a version of.' }),
    versionNumber: t.exposeInt('versionNumber', { description: '1 for the first version of the DAG, then counting up.' }),
    bundleHash: t.exposeString('bundleHash', { description: 'sha256 of the bundle (the DAG folder compiled into one file) its runs load.' }),
    codeHash: t.exposeString('codeHash', { description: 'sha256 over the sources the DAG file imports, transitively: a new hash means new code.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was deployed.' }),
    sourceCode: t.exposeString('sourceCode', {
      nullable: true,
      complexity: JSON_FIELD_COST,
      description: 'The DAG file’s source text as deployed (the file itself, not what it imports); null for versions deployed before sources were kept.',
    }),
    fileName: t.string({
      description: 'The DAG file, relative to its deploy source’s folder.',
      resolve: async (v, _args, ctx) => (await structureOf(ctx, v.id)).fileName,
    }),
    description: t.string({ nullable: true, description: 'The DAG’s description in this version.', resolve: async (v, _args, ctx) => (await structureOf(ctx, v.id)).description }),
    schedule: t.string({ nullable: true, description: 'The DAG’s schedule in this version (cron or preset); null: triggered only.', resolve: async (v, _args, ctx) => (await structureOf(ctx, v.id)).schedule }),
    tags: t.stringList({ description: 'The DAG’s tags in this version.', resolve: async (v, _args, ctx) => (await structureOf(ctx, v.id)).tags }),
    tasks: t.field({ type: [Task], ...STRUCTURE_FIELD_OPTIONS.tasks, resolve: async (v, _args, ctx) => structureView.tasks(await structureOf(ctx, v.id)) }),
    edges: t.field({ type: [TaskEdge], ...STRUCTURE_FIELD_OPTIONS.edges, resolve: async (v, _args, ctx) => structureView.edges(await structureOf(ctx, v.id)) }),
    groups: t.field({ type: [TaskGroup], ...STRUCTURE_FIELD_OPTIONS.groups, resolve: async (v, _args, ctx) => structureView.groups(await structureOf(ctx, v.id)) }),
    owners: t.stringList({ ...STRUCTURE_FIELD_OPTIONS.owners, resolve: async (v, _args, ctx) => structureView.owners(await structureOf(ctx, v.id)) }),
    paramsSchema: t.field({ type: 'JSON', nullable: true, ...STRUCTURE_FIELD_OPTIONS.paramsSchema, resolve: async (v, _args, ctx) => structureView.paramsSchema(await structureOf(ctx, v.id)) }),
  }),
});
