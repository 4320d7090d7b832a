import path from 'node:path';
import type { RawDagStructure } from '@updraft/sdk';
import { syncAssetReferences } from './assets/references.js';
import { buildBundle, sha256 } from './bundle/build.js';
import { extractStructures } from './bundle/extract.js';
import type { Db } from './db/prisma.js';
import { DEFAULT_MAX_ACTIVE_RUNS, DagValidationError, validateStructure, type DagStructure } from './dags/structure.js';

/** What a deploy stored. */
export interface DeployResult {
  /** The deploy source: DAGs and import errors of other sources are left alone. */
  source: string;
  bundleHash: string;
  dags: Array<{
    dagId: string;
    fileName: string;
    versionNumber: number;
    changed: boolean;
    /** Set when the DAG id belonged to another source until this deploy (taken over, or a retired DAG reused). */
    movedFrom?: string;
  }>;
  importErrors: Array<{ fileName: string; message: string }>;
}

export interface DeployOptions {
  /** Where bundles are written for loading (the worker's bundle cache). */
  cacheDir: string;
  /** The deploy source; default: the folder's path relative to the working directory. */
  source?: string;
  /**
   * Move DAG ids that an *active* DAG of another source owns to this source. Without it,
   * a file declaring such an id fails with an import error and its DAGs are not stored.
   */
  takeover?: boolean;
  /** Time limit of each DAG file's load, on its own (default 30 s). */
  importTimeoutMs?: number;
}

/** The transaction also waits for concurrent deploys of the same DAG ids (row locks). */
const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * Bundles the DAG folder `dir`, extracts and validates each DAG, and stores the bundle,
 * the DAGs and their new versions (only where structure or code changed) and the import
 * errors in one transaction. The folder is the whole of its *source* (named by `source`,
 * by default the folder's path relative to the working directory, like an Airflow 3 DAG
 * bundle): DAGs of that source whose file is gone are marked inactive; a file that fails
 * keeps its DAGs on their last good version; other sources are not touched.
 *
 * A source owns its DAG ids: a file declaring the id of an active DAG of another source
 * fails (unless `takeover`), so one folder cannot silently replace another's code. The id
 * of an inactive (retired) DAG may be reused by any source. A file is the unit: when any
 * DAG of a file is invalid or owned elsewhere, none of the file's DAGs is stored, and its
 * import error lists every problem.
 */
export async function deployDags(db: Db, dir: string, opts: DeployOptions): Promise<DeployResult> {
  const source = opts.source ?? defaultSource(dir);
  const takeover = opts.takeover ?? false;
  const bundle = await buildBundle(dir);
  const fileErrors = [...bundle.errors];
  const extracted = await extractStructures(bundle, bundle.files.map((f) => f.fileName), { cacheDir: opts.cacheDir, importTimeoutMs: opts.importTimeoutMs });
  const files = new Map(bundle.files.map((f) => [f.fileName, f]));

  const candidates: Candidate[] = [];
  const definedIn = new Map<string, string>();
  for (const result of extracted) {
    if (!result.ok) {
      fileErrors.push({ fileName: result.fileName, message: result.message });
      continue;
    }
    const structures: DagStructure[] = [];
    const problems: string[] = [];
    for (const raw of result.structures) {
      try {
        structures.push(checkDag(raw, result.fileName, definedIn));
      } catch (e) {
        problems.push(...(e instanceof DagValidationError ? e.problems : [String(e)]));
      }
    }
    if (problems.length > 0) {
      fileErrors.push({ fileName: result.fileName, message: problems.map((p) => `${result.fileName}: ${p}`).join('\n') });
      continue;
    }
    const { codeHash, source: sourceCode } = files.get(result.fileName)!;
    for (const structure of structures) candidates.push({ fileName: result.fileName, structure, codeHash, sourceCode });
  }

  // Ownership is decided inside the transaction that writes the DAGs, on locked rows; a
  // concurrent deploy that creates one of our ids between our check and our write makes
  // the write's guard fail, and the transaction is run again against the committed row.
  for (let attempt = 1; ; attempt++) {
    try {
      const { dags, importErrors } = await db.$transaction((tx) => store(tx, { source, takeover, bundle, candidates, fileErrors }), {
        timeout: TRANSACTION_TIMEOUT_MS,
      });
      return { source, bundleHash: bundle.hash, dags, importErrors };
    } catch (e) {
      if (!(e instanceof OwnerChanged) || attempt >= 3) throw e;
    }
  }
}

interface Candidate {
  fileName: string;
  structure: DagStructure;
  codeHash: string;
  /** The DAG file's text, kept with a new version. */
  sourceCode: string;
}

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** A DAG row changed owner between the ownership check and the write (a concurrent deploy). */
class OwnerChanged extends Error {
  constructor(dagId: string) {
    super(`DAG "${dagId}" was claimed by a concurrent deploy of another source`);
  }
}

async function store(
  tx: Tx,
  input: { source: string; takeover: boolean; bundle: { hash: string; code: string; files: Array<{ fileName: string }> }; candidates: Candidate[]; fileErrors: DeployResult['importErrors'] },
): Promise<Pick<DeployResult, 'dags' | 'importErrors'>> {
  const { source, takeover, bundle, candidates } = input;

  // Lock the existing rows of every DAG id this deploy declares, in id order (two deploys
  // sharing ids cannot deadlock). NO KEY UPDATE: runs (whose foreign key takes KEY SHARE)
  // can still be created meanwhile, while a second deploy of these ids waits here.
  const ids = [...new Set(candidates.map((c) => c.structure.id))].sort();
  const rows =
    ids.length === 0
      ? []
      : await tx.$queryRaw<Array<{ id: string; source: string; fileName: string; isActive: boolean }>>`
          SELECT id, source, file_name AS "fileName", is_active AS "isActive" FROM dag
          WHERE id = ANY(${ids}::text[]) ORDER BY id FOR NO KEY UPDATE`;
  const current = new Map(rows.map((row) => [row.id, row]));

  const ownershipProblems = new Map<string, string[]>();
  const movedFrom = new Map<string, string>();
  for (const { fileName, structure } of candidates) {
    const owner = current.get(structure.id);
    if (!owner || owner.source === source) continue;
    if (!owner.isActive || takeover) {
      movedFrom.set(structure.id, owner.source);
      continue;
    }
    const problems = ownershipProblems.get(fileName) ?? [];
    problems.push(
      `${fileName}: DAG "${structure.id}" belongs to deploy source "${owner.source}" (file ${owner.fileName}); ` +
        `deploy it from there, retire it there first, or pass --takeover to move it to "${source}"`,
    );
    ownershipProblems.set(fileName, problems);
  }
  const importErrors = [...input.fileErrors, ...[...ownershipProblems].map(([fileName, problems]) => ({ fileName, message: problems.join('\n') }))];
  const accepted = candidates.filter((c) => !ownershipProblems.has(c.fileName));

  await tx.bundle.upsert({ where: { hash: bundle.hash }, update: {}, create: { hash: bundle.hash, code: bundle.code, sizeBytes: Buffer.byteLength(bundle.code) } });

  // The guard re-checks ownership on the row as committed: it only differs from the check
  // above when a concurrent deploy inserted the id after our SELECT (no row to lock then).
  for (const { fileName, structure } of [...accepted].sort((a, b) => (a.structure.id < b.structure.id ? -1 : 1))) {
    const timezone = structure.timezone ?? 'UTC';
    const startDate = structure.startDate ? new Date(structure.startDate) : null;
    const endDate = structure.endDate ? new Date(structure.endDate) : null;
    const catchup = structure.catchup ?? false;
    const maxActiveRuns = structure.maxActiveRuns ?? DEFAULT_MAX_ACTIVE_RUNS;
    // A changed timetable makes the scheduler plan the DAG's next run anew (next_run_planned).
    const written = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO dag (id, source, file_name, description, schedule, tags, is_active, timezone, start_date, end_date, catchup, max_active_runs, max_active_tasks, retention_days, paused)
      VALUES (${structure.id}, ${source}, ${fileName}, ${structure.description}, ${structure.schedule}, ${structure.tags}::text[], true,
        ${timezone}, ${startDate}::timestamptz, ${endDate}::timestamptz, ${catchup}, ${maxActiveRuns}, ${structure.maxActiveTasks ?? null}::int, ${structure.retentionDays ?? null}::int, ${structure.pausedOnCreation ?? false})
      ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, file_name = EXCLUDED.file_name, description = EXCLUDED.description,
        schedule = EXCLUDED.schedule, tags = EXCLUDED.tags, is_active = true, updated_at = CURRENT_TIMESTAMP,
        timezone = EXCLUDED.timezone, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, catchup = EXCLUDED.catchup,
        max_active_runs = EXCLUDED.max_active_runs, max_active_tasks = EXCLUDED.max_active_tasks, retention_days = EXCLUDED.retention_days,
        next_run_planned = dag.next_run_planned AND dag.is_active AND (dag.schedule, dag.timezone, dag.start_date, dag.end_date, dag.catchup)
          IS NOT DISTINCT FROM (EXCLUDED.schedule, EXCLUDED.timezone, EXCLUDED.start_date, EXCLUDED.end_date, EXCLUDED.catchup)
      WHERE dag.source = EXCLUDED.source OR NOT dag.is_active OR ${takeover}::boolean
      RETURNING id`;
    if (written.length === 0) throw new OwnerChanged(structure.id);
  }

  const dags: DeployResult['dags'] = [];
  for (const { fileName, structure, codeHash, sourceCode } of accepted) {
    const moved = movedFrom.has(structure.id) ? { movedFrom: movedFrom.get(structure.id)! } : {};
    const latest = await tx.dagVersion.findFirst({
      where: { dagId: structure.id },
      orderBy: { versionNumber: 'desc' },
      select: { id: true, versionNumber: true, structureHash: true, codeHash: true, sourceCode: true },
    });
    const structureHash = sha256(JSON.stringify(structure));
    if (latest && latest.structureHash === structureHash && latest.codeHash === codeHash) {
      // A version stored before source texts were kept gets its text: the same code hash
      // says the file is the one it was deployed from.
      if (latest.sourceCode === null) await tx.dagVersion.update({ where: { id: latest.id }, data: { sourceCode } });
      dags.push({ dagId: structure.id, fileName, versionNumber: latest.versionNumber, changed: false, ...moved });
      continue;
    }
    const versionNumber = (latest?.versionNumber ?? 0) + 1;
    await tx.dagVersion.create({
      data: { dagId: structure.id, versionNumber, bundleHash: bundle.hash, codeHash, structureHash, structure: structure as object, sourceCode },
    });
    dags.push({ dagId: structure.id, fileName, versionNumber, changed: true, ...moved });
  }
  await syncAssetReferences(tx, accepted.map((c) => c.structure));
  const presentFiles = [...bundle.files.map((f) => f.fileName), ...importErrors.map((e) => e.fileName)];
  await tx.dag.updateMany({ where: { source, fileName: { notIn: presentFiles }, isActive: true }, data: { isActive: false } });
  await tx.importError.deleteMany({ where: { source } });
  await tx.importError.createMany({ data: importErrors.map((e) => ({ source, ...e })) });
  return { dags, importErrors };
}

function defaultSource(dir: string): string {
  return path.relative(process.cwd(), path.resolve(dir)).split(path.sep).join('/') || '.';
}

/** Validates one DAG of `fileName`; throws DagValidationError listing all its problems. */
function checkDag(raw: RawDagStructure, fileName: string, definedIn: Map<string, string>): DagStructure {
  const structure = validateStructure(raw, fileName);
  const problems: string[] = [];
  const other = definedIn.get(structure.id);
  if (other) problems.push(`DAG "${structure.id}" is already defined in ${other}; DAG ids must be unique`);
  else definedIn.set(structure.id, fileName);
  if (problems.length) throw new DagValidationError(problems);
  return structure;
}
