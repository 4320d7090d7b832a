import path from 'node:path';
import type { RawDagStructure } from '@updraft/sdk';
import { buildBundle, sha256 } from './bundle/build.js';
import { extractStructures } from './bundle/extract.js';
import type { Db } from './db/prisma.js';
import { DagValidationError, validateStructure, type DagStructure } from './dags/structure.js';
import { validateSchedule } from './dags/schedule.js';

/** What a deploy stored. */
export interface DeployResult {
  /** The deploy source: DAGs and import errors of other sources are left alone. */
  source: string;
  bundleHash: string;
  dags: Array<{ dagId: string; fileName: string; versionNumber: number; changed: boolean }>;
  importErrors: Array<{ fileName: string; message: string }>;
}

/**
 * Bundles the DAG folder `dir`, extracts and validates each DAG, and stores the bundle,
 * the DAGs and their new versions (only where structure or code changed) and the import
 * errors in one transaction. The folder is the whole of its *source* (named by `source`,
 * by default the folder's path relative to the working directory, like an Airflow 3 DAG
 * bundle): DAGs of that source whose file is gone are marked inactive; a file that fails
 * keeps its DAGs on their last good version; other sources are not touched.
 */
export async function deployDags(db: Db, dir: string, opts: { cacheDir: string; source?: string }): Promise<DeployResult> {
  const source = opts.source ?? defaultSource(dir);
  const bundle = await buildBundle(dir);
  const importErrors = [...bundle.errors];
  const extracted = await extractStructures(bundle, bundle.files.map((f) => f.fileName), { cacheDir: opts.cacheDir });
  const codeHashes = new Map(bundle.files.map((f) => [f.fileName, f.codeHash]));

  const accepted: Array<{ fileName: string; structure: DagStructure; codeHash: string }> = [];
  const owner = new Map<string, string>();
  for (const result of extracted) {
    if (!result.ok) {
      importErrors.push({ fileName: result.fileName, message: result.message });
      continue;
    }
    try {
      const structures = result.structures.map((raw) => checkDag(raw, result.fileName, owner));
      for (const structure of structures) accepted.push({ fileName: result.fileName, structure, codeHash: codeHashes.get(result.fileName)! });
    } catch (e) {
      const problems = e instanceof DagValidationError ? e.problems : [String(e)];
      importErrors.push({ fileName: result.fileName, message: problems.map((p) => `${result.fileName}: ${p}`).join('\n') });
    }
  }

  const dags = await db.$transaction(async (tx) => {
    await tx.bundle.upsert({ where: { hash: bundle.hash }, update: {}, create: { hash: bundle.hash, code: bundle.code, sizeBytes: Buffer.byteLength(bundle.code) } });
    const stored: DeployResult['dags'] = [];
    for (const { fileName, structure, codeHash } of accepted) {
      const fields = { source, fileName, description: structure.description, schedule: structure.schedule, isActive: true };
      await tx.dag.upsert({ where: { id: structure.id }, update: fields, create: { id: structure.id, ...fields } });
      const latest = await tx.dagVersion.findFirst({ where: { dagId: structure.id }, orderBy: { versionNumber: 'desc' } });
      const structureHash = sha256(JSON.stringify(structure));
      if (latest && latest.structureHash === structureHash && latest.codeHash === codeHash) {
        stored.push({ dagId: structure.id, fileName, versionNumber: latest.versionNumber, changed: false });
        continue;
      }
      const versionNumber = (latest?.versionNumber ?? 0) + 1;
      await tx.dagVersion.create({ data: { dagId: structure.id, versionNumber, bundleHash: bundle.hash, codeHash, structureHash, structure: structure as object } });
      stored.push({ dagId: structure.id, fileName, versionNumber, changed: true });
    }
    const presentFiles = [...bundle.files.map((f) => f.fileName), ...importErrors.map((e) => e.fileName)];
    await tx.dag.updateMany({ where: { source, fileName: { notIn: presentFiles }, isActive: true }, data: { isActive: false } });
    await tx.importError.deleteMany({ where: { source } });
    await tx.importError.createMany({ data: importErrors.map((e) => ({ source, ...e })) });
    return stored;
  });
  return { source, bundleHash: bundle.hash, dags, importErrors };
}

function defaultSource(dir: string): string {
  return path.relative(process.cwd(), path.resolve(dir)).split(path.sep).join('/') || '.';
}

function checkDag(raw: RawDagStructure, fileName: string, owner: Map<string, string>): DagStructure {
  const structure = validateStructure(raw, fileName);
  const problems: string[] = [];
  const other = owner.get(structure.id);
  if (other) problems.push(`DAG "${structure.id}" is already defined in ${other}; DAG ids must be unique`);
  owner.set(structure.id, fileName);
  const scheduleProblem = validateSchedule(structure.schedule);
  if (scheduleProblem) problems.push(`DAG "${structure.id}": schedule ${scheduleProblem}`);
  if (problems.length) throw new DagValidationError(problems);
  return structure;
}
