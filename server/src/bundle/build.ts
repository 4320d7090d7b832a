import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { ESBUILD_CONDITIONS } from './conditions.js';

/** A DAG folder compiled into one CommonJS bundle that loads each file lazily. */
export interface Bundle {
  /** sha256 of `code`: the bundle's identity in the database and in worker caches. */
  hash: string;
  code: string;
  /** Files in the bundle, with a hash of everything each one imports and the file's own text. */
  files: Array<{ fileName: string; codeHash: string; source: string }>;
  /** Files that did not compile; they are left out of the bundle. */
  errors: Array<{ fileName: string; message: string }>;
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/**
 * Files in `dir` (recursively, outside node_modules and dot-folders) that import the SDK or
 * an Updraft package (`@updraft/…`: a plugin's DAGs re-exported): like Airflow's safe mode,
 * helper modules without DAGs are not loaded as DAG files.
 */
export async function findDagFiles(dir: string): Promise<string[]> {
  const found = await stat(dir).catch(() => null);
  if (!found?.isDirectory()) throw new Error(`DAG folder ${dir} does not exist or is not a folder`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !SOURCE.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (rel.split('/').some((part) => part === 'node_modules' || part.startsWith('.'))) continue;
    if ((await readFile(full, 'utf8')).includes('@updraft/')) files.push(rel);
  }
  return files.sort();
}

const common: esbuild.BuildOptions = {
  bundle: true,
  write: false,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'silent',
  conditions: ESBUILD_CONDITIONS,
};

/** Compiles the DAG files of `dir` into a content-addressed bundle. */
export async function buildBundle(dir: string): Promise<Bundle> {
  const absDir = path.resolve(dir);
  const files: Bundle['files'] = [];
  const errors: Bundle['errors'] = [];

  // Each file is compiled on its own first, so that one broken file cannot keep the
  // others out, and so that its code hash covers exactly what it imports.
  for (const fileName of await findDagFiles(absDir)) {
    try {
      const result = await esbuild.build({ ...common, absWorkingDir: absDir, entryPoints: [fileName], metafile: true, outfile: 'check.js' });
      const codeHash = await hashInputs(absDir, Object.keys(result.metafile.inputs));
      files.push({ fileName, codeHash, source: await readFile(path.join(absDir, fileName), 'utf8') });
    } catch (e) {
      errors.push({ fileName, message: describeBuildFailure(e) });
    }
  }

  const entry = `module.exports = {\n${files.map((f) => `  ${JSON.stringify(f.fileName)}: () => require(${JSON.stringify(`./${f.fileName}`)}),`).join('\n')}\n};\n`;
  const result = await esbuild.build({
    ...common,
    absWorkingDir: absDir,
    stdin: { contents: entry, resolveDir: absDir, sourcefile: 'updraft-bundle-entry.js', loader: 'js' },
    sourcemap: 'inline',
    sourcesContent: false,
    outfile: 'bundle.cjs',
  });
  const code = result.outputFiles![0]!.text;
  return { hash: sha256(code), code, files, errors };
}

async function hashInputs(absDir: string, inputs: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const input of [...inputs].sort()) {
    hash.update(input).update('\0').update(await readFile(path.resolve(absDir, input))).update('\0');
  }
  return hash.digest('hex');
}

function describeBuildFailure(e: unknown): string {
  const failure = e as { errors?: esbuild.Message[] };
  if (!failure.errors?.length) return String(e);
  return failure.errors
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}` : m.text))
    .join('\n');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
