import type { ClientBase, Pool } from 'pg';
import { sql } from '../executor/sql.js';
import type { DagStructure } from './structure.js';

// DagVersions never change once stored, so their structures are cached for the process.
const structures = new Map<number, Promise<DagStructure>>();

/** The validated structure stored with a DagVersion. */
export function loadStructure(db: Pool | ClientBase, dagVersionId: number): Promise<DagStructure> {
  let structure = structures.get(dagVersionId);
  if (!structure) {
    structure = sql<{ structure: DagStructure }>(db, 'select_dag_version', [dagVersionId]).then(([row]) => {
      if (!row) throw new Error(`DagVersion ${dagVersionId} does not exist`);
      return row.structure;
    });
    structure.catch(() => structures.delete(dagVersionId));
    structures.set(dagVersionId, structure);
  }
  return structure;
}

/** A task of a structure by id; throws when the version has no such task. */
export function taskOf(structure: DagStructure, taskId: string) {
  const task = structure.tasks.find((t) => t.id === taskId);
  if (!task) throw new Error(`DAG "${structure.id}" has no task "${taskId}" in this version`);
  return task;
}
