// The DAGs the bench runs, generated into one folder that links the repository's SDK.
import fs from 'node:fs/promises';
import path from 'node:path';

export const chainDagId = (length: number, inProcess = false) => `bench_chain${length}${inProcess ? '_in_process' : ''}`;
export const mappedDagId = (count: number, inProcess = false) => `bench_mapped${count}${inProcess ? '_in_process' : ''}`;
/** A DAG of `width` parallel no-op tasks between a root and a join: the grid's 1,000 tasks. */
export const wideDagId = (width: number) => `bench_wide${width}`;
/** The "many runs" DAG: `tasks` no-op tasks in layers of 5, each layer after the one before. */
export const layeredDagId = (tasks: number) => `bench_layered${tasks}`;

/** Links `@updraft/sdk` into `dir` so the bundler resolves it from the repository. */
export async function linkSdk(dir: string): Promise<void> {
  const link = path.join(dir, 'node_modules', '@updraft', 'sdk');
  if (await fs.stat(link).catch(() => undefined)) return;
  await fs.mkdir(path.dirname(link), { recursive: true });
  await fs.symlink(path.resolve(import.meta.dirname, '..', 'sdk'), link, 'dir');
}

/**
 * Writes the bench's DAGs into `dir`: for each chain length a chain of no-op tasks passing a
 * small value (t000 → t001 → …), for each count a no-op mapped over that many items and a sum
 * (the fan-out + reduce), each isolated (the default) and with `isolation: 'none'`; a wide DAG
 * for the grid, and the layered DAG of the "many runs" workload.
 */
export async function writeBenchDags(dir: string, opts: { chainLengths: number[]; mappedCounts: number[]; wideWidth: number; layeredTasks: number }): Promise<void> {
  await linkSdk(dir);
  const lines = [`import { chain, dag, task } from '@updraft/sdk';`, ``, `const step = (id: string) => task(id, (n?: number) => (n ?? 0) + 1);`, ``];
  for (const length of opts.chainLengths) {
    const ids = Array.from({ length }, (_, i) => `t${String(i).padStart(3, '0')}`);
    lines.push(
      `const chain${length} = () => {`,
      `  let value: ReturnType<ReturnType<typeof step>> | undefined;`,
      `  for (const id of ${JSON.stringify(ids)}) value = value === undefined ? step(id)() : step(id)(value);`,
      `};`,
      `export const chain${length}Isolated = dag({ id: '${chainDagId(length)}', description: 'Benchmark: a chain of ${length} no-op tasks passing a number' }, chain${length});`,
      `export const chain${length}InProcess = dag({ id: '${chainDagId(length, true)}', defaultArgs: { isolation: 'none' } }, chain${length});`,
      ``,
    );
  }
  lines.push(
    `const list = (count: number) => task('list', () => Array.from({ length: count }, (_, i) => i));`,
    `const noop = task('noop', (n: number) => n);`,
    `const sum = task('sum', (values: number[]) => values.reduce((a, b) => a + b, 0));`,
    ``,
  );
  for (const count of opts.mappedCounts) {
    lines.push(
      `export const mapped${count} = dag({ id: '${mappedDagId(count)}', description: 'Benchmark: a no-op mapped over ${count} items, then a sum' }, () => { sum(noop.map(list(${count})())); });`,
      `export const mapped${count}InProcess = dag({ id: '${mappedDagId(count, true)}', defaultArgs: { isolation: 'none' } }, () => { sum(noop.map(list(${count})())); });`,
      ``,
    );
  }
  const width = opts.wideWidth;
  lines.push(
    `const root = task('root', () => undefined);`,
    `const wideTasks = Array.from({ length: ${width} }, (_, i) => task(\`w\${String(i).padStart(4, '0')}\`, () => undefined));`,
    `const join = task('join', () => undefined);`,
    `export const wide = dag({ id: '${wideDagId(width)}', description: 'Benchmark: ${width} parallel no-op tasks' }, () => {`,
    `  const start = root();`,
    `  join().after(...wideTasks.map((t) => t().after(start)));`,
    `});`,
    ``,
    `const layerTasks = Array.from({ length: ${opts.layeredTasks} }, (_, i) => task(\`l\${String(i).padStart(3, '0')}\`, () => undefined));`,
    `export const layered = dag({ id: '${layeredDagId(opts.layeredTasks)}', description: 'Benchmark: ${opts.layeredTasks} no-op tasks in layers of 5' }, () => {`,
    `  let previous: ReturnType<ReturnType<typeof task>>[] = [];`,
    `  for (let i = 0; i < layerTasks.length; i += 5) {`,
    `    const layer = layerTasks.slice(i, i + 5).map((t) => t().after(...previous));`,
    `    previous = layer;`,
    `  }`,
    `});`,
    ``,
  );
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'bench.ts'), lines.join('\n'));
}
