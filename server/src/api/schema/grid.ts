// `dagGrid`: what a grid view draws, Airflow's grid. Columns are a DAG's last runs, rows its
// tasks (paged: a DAG may have 10,000), and each cell counts the task's instances per state
// in that run (a mapped task has one per item). A page costs a fixed number of statements
// whatever the size of the runs: the DAG with its runs' ids, the cells of the page's tasks
// (counts per state, read on the task instances' unique key), and the runs when they are
// selected; the structures come from the versions' cache.
import { parseCursorConnectionArgs } from '@pothos/plugin-relay';
import { graphOf } from '../../dags/graph.js';
import type { DagStructure, TaskStructure } from '../../dags/structure.js';
import { loadStructures } from '../../dags/versions.js';
import { badInput, notFound } from '../../errors.js';
import type { TaskInstanceState as State } from '../../executor/states.js';
import { checkDagId, checkTaskId } from '../../runs.js';
import { finishedRunCells, type TaskCounts } from '../finished-run-cells.js';
import { builder, type ApiContext } from '../builder.js';
import { LIMITS, pageSize } from '../limits.js';
import { pageTypes } from './connections.js';
import { Task } from './dag-version.js';
import { TaskInstanceState, TaskStateCount, type StateCount } from './states.js';

/** Most runs (columns) one grid shows. */
export const MAX_GRID_RUNS = 100;
const DEFAULT_GRID_RUNS = 25;

/**
 * The state a cell shows for several instances (a mapped task), most telling first, after
 * Airflow's grid: a failure anywhere shows, then what is still going on, then how it ended.
 */
const SUMMARY_ORDER: readonly State[] = [
  'failed',
  'upstream_failed',
  'up_for_retry',
  'up_for_reschedule',
  'running',
  'queued',
  'scheduled',
  'none',
  'removed',
  'skipped',
  'success',
];

/** Most map indexes one `mappedInstances` slice covers. */
export const MAX_MAPPED_SLICE = 500;
/** A map item whose JSON text is longer is not labelled in the grid (open the instance to see it). */
export const MAP_ITEM_LABEL_CHARS = 40;

/** One instance of a mapped task in one of the grid's runs. */
interface MappedInstance {
  dagRunId: number;
  mapIndex: number;
  state: State;
}

/** A map index's item, as the newest shown run that has the instance holds it. */
interface MappedItem {
  mapIndex: number;
  label: string | null;
}

/** What the root field found: the DAG's newest version and its last runs, newest first. */
interface GridSource {
  dagId: string;
  latestVersionId: number | null;
  runs: Array<{ id: number; versionId: number; finished: boolean }>;
}

/** A task of the grid, before its cells are read. */
interface GridTask {
  task: TaskStructure;
  inLatestVersion: boolean;
}

interface GridRow extends GridTask {
  cells: GridCell[];
}

interface GridCell {
  dagRunId: number;
  counts: StateCount[];
}

/** A row of the cells' statement: one (run, task, state) count. */
interface CellRow {
  dag_run_id: number;
  task_id: string;
  state: State;
  count: number;
}

const DagGridCell = builder.objectRef<GridCell>('DagGridCell').implement({
  description: 'One task in one run: how many of its instances are in each state.',
  fields: (t) => ({
    dagRunId: t.id({ description: 'The run (a column of the grid).', resolve: (cell) => String(cell.dagRunId) }),
    state: t.field({
      type: TaskInstanceState,
      description: 'The state to show: the instance’s own, or for several (a mapped task) the most telling (failed, then running and waiting ones, then success).',
      resolve: (cell) => SUMMARY_ORDER.find((state) => cell.counts.some((c) => c.state === state)) ?? cell.counts[0]!.state,
    }),
    instances: t.int({ description: 'How many instances the task has in the run (a mapped task: one per item).', resolve: (cell) => cell.counts.reduce((sum, c) => sum + c.count, 0) }),
    counts: t.field({
      type: [TaskStateCount],
      description: 'Instances per state, states with none left out, in the order of TaskInstanceState.',
      complexity: { field: 1, multiplier: 1 },
      resolve: (cell) => cell.counts,
    }),
  }),
});

const DagGridInstance = builder.objectRef<MappedInstance>('DagGridInstance').implement({
  description: 'One instance of a mapped task in one run of the grid: a cell of its unfolded rows.',
  fields: (t) => ({
    dagRunId: t.id({ description: 'The run (a column of the grid).', resolve: (i) => String(i.dagRunId) }),
    mapIndex: t.exposeInt('mapIndex', { description: 'The instance’s map index (a row of the unfolded task).' }),
    state: t.field({ type: TaskInstanceState, description: 'The instance’s state.', resolve: (i) => i.state }),
  }),
});

const DagGridMapItem = builder.objectRef<MappedItem>('DagGridMapItem').implement({
  description: 'What a map index stands for: its item, as the newest shown run that has the instance holds it.',
  fields: (t) => ({
    mapIndex: t.exposeInt('mapIndex', { description: 'The map index.' }),
    label: t.exposeString('label', {
      nullable: true,
      description: `The item as JSON text when it is plain JSON of at most ${MAP_ITEM_LABEL_CHARS} characters; null otherwise (the task instance’s \`mapItem\` has it whole).`,
    }),
  }),
});

const DagGridMappedSlice = builder.objectRef<{ instances: MappedInstance[]; items: MappedItem[] }>('DagGridMappedSlice').implement({
  description: 'A range of map indexes of a mapped task across the grid’s runs: what its unfolded rows draw.',
  fields: (t) => ({
    instances: t.field({
      type: [DagGridInstance],
      description: 'The instances in the range, by map index, then newest run first; a run without the instance has none.',
      complexity: { field: 1, multiplier: 1 },
      resolve: (slice) => slice.instances,
    }),
    items: t.field({
      type: [DagGridMapItem],
      description: 'One per map index in the range that some shown run has, by map index.',
      complexity: { field: 1, multiplier: 1 },
      resolve: (slice) => slice.items,
    }),
  }),
});

const DagGridRow = builder.objectRef<GridRow>('DagGridRow').implement({
  description: 'A task of the grid with its cells.',
  fields: (t) => ({
    task: t.field({ type: Task, description: 'The task, as the newest version has it (or the newest of the shown runs’ versions that does).', resolve: (row) => row.task }),
    inLatestVersion: t.exposeBoolean('inLatestVersion', { description: 'False for a task that only older runs have: it left the DAG since.' }),
    cells: t.field({
      type: [DagGridCell],
      description: 'One per shown run in which the task has instances, in the order of `runs` (newest first).',
      complexity: { field: 1, multiplier: 1 },
      resolve: (row) => row.cells,
    }),
  }),
});

const DagGrid = builder.objectRef<GridSource>('DagGrid').implement({
  description: 'A DAG’s last runs and, per task and run, its instances’ states: what a grid view draws.',
  fields: (t) => ({
    dagId: t.exposeID('dagId', { description: 'The DAG.' }),
    runs: t.prismaField({
      type: ['DagRun'],
      description: 'The runs (columns), newest first.',
      complexity: { field: 1, multiplier: 1 },
      resolve: async (query, grid, _args, ctx) => {
        if (grid.runs.length === 0) return [];
        return ctx.prisma.dagRun.findMany({ ...query, where: { id: { in: grid.runs.map((r) => r.id) } }, orderBy: { id: 'desc' } });
      },
    }),
    mappedInstances: t.field({
      type: DagGridMappedSlice,
      description: `The instances of a mapped task with map indexes \`fromMapIndex\` … \`fromMapIndex + count − 1\` in each shown run (at most ${MAX_MAPPED_SLICE} indexes at once): one row per instance when the grid unfolds the task. Read on the task instances’ unique key, so a slice costs the same in a run of 10 or 100,000.`,
      args: {
        taskId: t.arg.string({ required: true, description: 'The mapped task.' }),
        fromMapIndex: t.arg.int({ defaultValue: 0, description: 'The first map index of the range.' }),
        count: t.arg.int({ defaultValue: 100, description: `How many map indexes, 1 to ${MAX_MAPPED_SLICE}.` }),
      },
      complexity: (args) => ({ field: 1, multiplier: Math.min(Math.max(args.count ?? 100, 1), MAX_MAPPED_SLICE) }),
      resolve: async (grid, args, ctx) => {
        checkTaskId(args.taskId);
        const from = args.fromMapIndex ?? 0;
        const count = args.count ?? 100;
        if (!Number.isInteger(from) || from < 0) throw badInput(`fromMapIndex is ${from}; map indexes start at 0`);
        if (!Number.isInteger(count) || count < 1 || count > MAX_MAPPED_SLICE) throw badInput(`count is ${count}; a slice covers 1 to ${MAX_MAPPED_SLICE} map indexes`);
        if (grid.runs.length === 0) return { instances: [], items: [] };
        const rows = await ctx.prisma.$queryRaw<Array<{ dag_run_id: number; map_index: number; state: State; label: string | null }>>`
          SELECT dag_run_id, map_index, state::text AS state,
                 CASE WHEN map_item IS NOT NULL AND length(map_item::text) <= ${MAP_ITEM_LABEL_CHARS} THEN map_item::text END AS label
          FROM task_instance
          WHERE dag_run_id = ANY(${grid.runs.map((r) => r.id)}::int[]) AND task_id = ${args.taskId}
            AND map_index >= ${from} AND map_index < ${from + count}
          ORDER BY map_index, dag_run_id DESC`;
        const items: MappedItem[] = [];
        for (const row of rows) if (items.at(-1)?.mapIndex !== row.map_index) items.push({ mapIndex: row.map_index, label: row.label });
        return { instances: rows.map((r) => ({ dagRunId: r.dag_run_id, mapIndex: r.map_index, state: r.state })), items };
      },
    }),
    rows: t.connection(
      {
        type: DagGridRow,
        description:
          'The tasks (rows), upstream first: those of the newest version, then those only older shown runs have. Each page reads the cells of its own tasks only.',
        resolve: async (grid, args, ctx) => {
          pageSize(args); // refuses a page over the limit
          const tasks = await gridTasks(ctx, grid);
          const { before, after, limit, expectedSize, inverted, hasPreviousPage, hasNextPage } = parseCursorConnectionArgs({
            args,
            defaultSize: LIMITS.defaultPageSize,
            maxSize: LIMITS.maxPageSize,
          });
          const start = after === undefined ? 0 : positionOf(tasks, after) + 1;
          const end = before === undefined ? tasks.length : positionOf(tasks, before);
          // `limit` is one more than the page: whether that one exists tells if there is another page.
          const found = inverted ? tasks.slice(Math.max(start, end - limit), end).reverse() : tasks.slice(start, Math.min(end, start + limit));
          const page = found.slice(0, expectedSize);
          if (inverted) page.reverse();
          const cells = await gridCells(ctx, grid, page.length === tasks.length ? null : page.map((row) => row.task.id));
          const edges = page.map((row) => ({ cursor: encodeCursor(row.task.id), node: { ...row, cells: cells.get(row.task.id) ?? [] } }));
          return {
            edges,
            pageInfo: {
              startCursor: edges[0]?.cursor ?? null,
              endCursor: edges[edges.length - 1]?.cursor ?? null,
              hasPreviousPage: hasPreviousPage(found.length),
              hasNextPage: hasNextPage(found.length),
            },
          };
        },
      },
      ...pageTypes('DagGridRow', 'grid rows'),
    ),
  }),
});

builder.queryFields((t) => ({
  dagGrid: t.field({
    type: DagGrid,
    description: 'A DAG’s last runs and its tasks’ states in each (what a grid view draws). NOT_FOUND for an unknown DAG; FORBIDDEN outside the caller’s grants.',
    args: {
      dagId: t.arg.id({ required: true, description: 'The DAG id.' }),
      runs: t.arg.int({ defaultValue: DEFAULT_GRID_RUNS, description: `How many of its latest runs to show, 1 to ${MAX_GRID_RUNS}.` }),
    },
    authScopes: (_root, args) => ({ role: 'viewer', dag: String(args.dagId) }),
    // Each row has a cell per run: the rows' cost times the runs.
    complexity: (args) => ({ field: 1, multiplier: Math.min(Math.max(args.runs ?? DEFAULT_GRID_RUNS, 1), MAX_GRID_RUNS) }),
    resolve: async (_root, args, ctx) => {
      const dagId = String(args.dagId);
      checkDagId(dagId);
      const runs = args.runs ?? DEFAULT_GRID_RUNS;
      if (!Number.isInteger(runs) || runs < 1 || runs > MAX_GRID_RUNS) throw badInput(`runs is ${runs}; a grid shows 1 to ${MAX_GRID_RUNS} runs`);
      const [found] = await ctx.prisma.$queryRaw<Array<{ latest_version_id: number | null; runs: GridSource['runs'] }>>`
        SELECT
          (SELECT v.id FROM dag_version v WHERE v.dag_id = d.id ORDER BY v.version_number DESC LIMIT 1) AS latest_version_id,
          coalesce((SELECT json_agg(json_build_object('id', r.id, 'versionId', r.dag_version_id, 'finished', r.state IN ('success', 'failed')) ORDER BY r.id DESC)
                    FROM (SELECT id, dag_version_id, state FROM dag_run WHERE dag_id = d.id ORDER BY id DESC LIMIT ${runs}) r), '[]') AS runs
        FROM dag d WHERE d.id = ${dagId}`;
      if (!found) throw notFound(`DAG "${dagId}" does not exist`);
      return { dagId, latestVersionId: found.latest_version_id, runs: found.runs };
    },
  }),
}));

/** The rows' tasks: the newest version's, then those only the shown runs' older versions have. */
async function gridTasks(ctx: ApiContext, grid: GridSource): Promise<GridTask[]> {
  const versionIds = [...new Set([...(grid.latestVersionId === null ? [] : [grid.latestVersionId]), ...grid.runs.map((r) => r.versionId)])];
  const structures = await loadStructures(ctx.pool, versionIds);
  const latest: DagStructure | undefined = grid.latestVersionId === null ? undefined : structures[0];
  const rows: GridTask[] = (latest ? graphOf(latest).ordered : []).map((task) => ({ task, inLatestVersion: true }));
  const seen = new Set(rows.map((row) => row.task.id));
  for (const structure of structures) {
    if (structure === latest) continue;
    for (const task of graphOf(structure).ordered) {
      if (seen.has(task.id)) continue;
      seen.add(task.id);
      rows.push({ task, inLatestVersion: false });
    }
  }
  return rows;
}

/**
 * Counts per (task, run, state) for the shown runs, in one statement; `taskIds` null: every
 * task. A page of some tasks probes the task instances' unique key once per (run, task) cell
 * (a LATERAL join): filtering the runs' rows by `task_id = ANY(...)` instead let the planner
 * read all 250,000 instances of 25 runs of a 10,000-task DAG to keep 2,500 (40 ms, not 11).
 * Finished runs' counts come from memory when they are known (finished-run-cells.ts: kept
 * until a notification names the run), and a read of every task stores them there.
 */
async function gridCells(ctx: ApiContext, grid: GridSource, taskIds: string[] | null): Promise<Map<string, GridCell[]>> {
  const cells = new Map<string, GridCell[]>();
  if (grid.runs.length === 0 || taskIds?.length === 0) return cells;
  const cache = ctx.live ? finishedRunCells(ctx.live) : null;
  const byRun = new Map<number, TaskCounts>();
  for (const run of grid.runs) {
    const known = run.finished ? cache?.get(run.id) : undefined;
    if (known) byRun.set(run.id, known);
  }
  const runIds = grid.runs.filter((r) => !byRun.has(r.id)).map((r) => r.id);
  if (runIds.length > 0) {
    const reading = taskIds === null ? cache?.begin(grid.runs.filter((r) => r.finished && !byRun.has(r.id)).map((r) => r.id)) : undefined;
    try {
      const rows =
        taskIds === null
          ? await ctx.prisma.$queryRaw<CellRow[]>`
              SELECT dag_run_id, task_id, state::text AS state, count(*)::int AS count
              FROM task_instance
              WHERE dag_run_id = ANY(${runIds}::int[])
              GROUP BY dag_run_id, task_id, state
              ORDER BY dag_run_id DESC, task_id, task_instance.state`
          : await ctx.prisma.$queryRaw<CellRow[]>`
              SELECT r.id AS dag_run_id, t.task_id, c.state::text AS state, c.count
              FROM unnest(${runIds}::int[]) AS r(id)
              CROSS JOIN unnest(${taskIds}::text[]) AS t(task_id)
              CROSS JOIN LATERAL (
                SELECT state, count(*)::int AS count FROM task_instance
                WHERE dag_run_id = r.id AND task_id = t.task_id
                GROUP BY state
              ) c
              ORDER BY r.id DESC, t.task_id, c.state`;
      for (const id of runIds) byRun.set(id, new Map());
      for (const row of rows) {
        const counts = byRun.get(row.dag_run_id)!;
        let states = counts.get(row.task_id);
        if (!states) counts.set(row.task_id, (states = []));
        states.push({ state: row.state, count: row.count });
      }
      if (reading) for (const id of runIds) reading.store(id, byRun.get(id)!);
    } finally {
      reading?.end();
    }
  }
  // Cells in the order of the runs, newest first.
  for (const run of grid.runs) {
    const counts = byRun.get(run.id)!;
    for (const taskId of taskIds ?? counts.keys()) {
      const states = counts.get(taskId);
      if (!states) continue;
      let taskCells = cells.get(taskId);
      if (!taskCells) cells.set(taskId, (taskCells = []));
      taskCells.push({ dagRunId: run.id, counts: states });
    }
  }
  return cells;
}

const CURSOR_PREFIX = 'task:';

function encodeCursor(taskId: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${taskId}`).toString('base64url');
}

function positionOf(rows: GridTask[], cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const index = text.startsWith(CURSOR_PREFIX) ? rows.findIndex((row) => row.task.id === text.slice(CURSOR_PREFIX.length)) : -1;
  if (index < 0) throw badInput('The cursor does not name a task of this grid (its DAG may have changed since); start again from the first page');
  return index;
}
