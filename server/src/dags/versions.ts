import type { ClientBase, Pool } from 'pg';
import { sql } from '../executor/sql.js';
import { TASK_DEFAULTS, type DagStructure, type TaskStructure } from './structure.js';

// DagVersions never change once stored, so their structures are cached per database pool,
// the most recently used ones only: a long-lived API process reads the versions of every DAG
// over time, and a 10,000-task structure weighs megabytes.
const cache = new WeakMap<Pool | ClientBase, Map<number, Promise<DagStructure>>>();
const MAX_CACHED_STRUCTURES = 256;

function cacheOf(db: Pool | ClientBase): Map<number, Promise<DagStructure>> {
  let structures = cache.get(db);
  if (!structures) cache.set(db, (structures = new Map()));
  return structures;
}

function remember(structures: Map<number, Promise<DagStructure>>, dagVersionId: number, structure: Promise<DagStructure>): void {
  structures.delete(dagVersionId);
  structures.set(dagVersionId, structure); // a Map iterates in insertion order: the first key is the least recently used
  structure.catch(() => structures.get(dagVersionId) === structure && structures.delete(dagVersionId));
  if (structures.size > MAX_CACHED_STRUCTURES) structures.delete(structures.keys().next().value!);
}

/** The validated structure stored with a DagVersion. */
export function loadStructure(db: Pool | ClientBase, dagVersionId: number): Promise<DagStructure> {
  const structures = cacheOf(db);
  let structure = structures.get(dagVersionId);
  if (!structure) {
    structure = sql<{ structure: StoredStructure }>(db, 'select_dag_version', [dagVersionId]).then(([row]) => {
      if (!row) throw new Error(`DagVersion ${dagVersionId} does not exist`);
      return upgradeStructure(row.structure);
    });
  }
  remember(structures, dagVersionId, structure);
  return structure;
}

/** The structures of several DagVersions, those not cached read in one statement. */
export async function loadStructures(db: Pool | ClientBase, dagVersionIds: number[]): Promise<DagStructure[]> {
  const structures = cacheOf(db);
  // Taken from the cache, and read, up front: a list longer than the cache (1,000 DAGs) would
  // otherwise evict some before use, and read them again one by one.
  const read = new Map<number, DagStructure | Promise<DagStructure>>();
  for (const id of dagVersionIds) {
    const cached = structures.get(id);
    if (cached) read.set(id, cached);
  }
  const missing = [...new Set(dagVersionIds.filter((id) => !read.has(id)))];
  if (missing.length > 0) {
    const rows = await sql<{ id: number; structure: StoredStructure }>(db, 'select_dag_versions', [missing]);
    for (const row of rows) {
      const structure = upgradeStructure(row.structure);
      read.set(row.id, structure);
      remember(structures, row.id, Promise.resolve(structure));
    }
  }
  return Promise.all(dagVersionIds.map((id) => read.get(id) ?? loadStructure(db, id)));
}

type TaskV3 = Omit<TaskStructure, 'map' | 'maxMapLength' | 'maxActiveTisPerTask'>;
type TaskV2 = Omit<TaskV3, 'triggerRule'> & { triggerRule: 'all_success' };
type TaskV1 = Omit<TaskV2, 'isolation' | 'memoryLimitMb'>;
type Before<Format, Task> = Omit<DagStructure, 'format' | 'tasks' | 'failRunOnAnyFailure' | 'paramsSchema'> & { format: Format; tasks: Task[] };

/** A structure as stored by any earlier release. */
type StoredStructure =
  | DagStructure
  | (Before<3, TaskV3> & Pick<DagStructure, 'failRunOnAnyFailure'> & { paramsSchema?: object | null })
  | Before<2, TaskV2>
  | Before<1, TaskV1>;

/**
 * Brings a stored structure to the current format, with the defaults that a new deploy of
 * the same code would get: format 1 (before task isolation), 2 (before trigger rules),
 * 3 (before mapped tasks; params schemas came within it). Optional fields that arrived
 * within format 4 (a task's `owner`) need nothing: absent reads as "not set", which is
 * what a structure stored before them means.
 */
export function upgradeStructure(stored: StoredStructure): DagStructure {
  if (stored.format === 4) return stored;
  const tasks = stored.tasks.map((t: TaskV1 | TaskV2 | TaskV3) => ({
    isolation: TASK_DEFAULTS.isolation,
    memoryLimitMb: TASK_DEFAULTS.memoryLimitMb,
    maxMapLength: TASK_DEFAULTS.maxMapLength,
    maxActiveTisPerTask: TASK_DEFAULTS.maxActiveTisPerTask,
    ...t,
  }));
  if (stored.format === 3) return { ...stored, format: 4, paramsSchema: stored.paramsSchema ?? null, tasks };
  return { ...stored, format: 4, failRunOnAnyFailure: false, paramsSchema: null, tasks };
}

interface StructureIndex {
  tasks: Map<string, TaskStructure>;
  leafIds: string[];
}

// Built once per structure: with 10,000 tasks, scanning the list on every transition would
// make a run quadratic.
const indexes = new WeakMap<DagStructure, StructureIndex>();

function indexOf(structure: DagStructure): StructureIndex {
  let index = indexes.get(structure);
  if (!index) {
    index = {
      tasks: new Map(structure.tasks.map((t) => [t.id, t])),
      leafIds: structure.tasks.filter((t) => t.downstreamIds.length === 0).map((t) => t.id),
    };
    indexes.set(structure, index);
  }
  return index;
}

/** A task of a structure by id; throws when the version has no such task. */
export function taskOf(structure: DagStructure, taskId: string): TaskStructure {
  const task = indexOf(structure).tasks.get(taskId);
  if (!task) throw new Error(`DAG "${structure.id}" has no task "${taskId}" in this version`);
  return task;
}

/** Ids of the tasks without downstream tasks: they decide a finished run's state. */
export function leafTaskIds(structure: DagStructure): string[] {
  return indexOf(structure).leafIds;
}
