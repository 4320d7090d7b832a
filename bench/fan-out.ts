import fs from 'node:fs/promises';
import path from 'node:path';

export const FAN_OUT_DAG_ID = 'bench_fan_out';
/** The same fan-out with `isolation: 'none'`. */
export const FAN_OUT_IN_PROCESS_DAG_ID = 'bench_fan_out_in_process';

/** A DAG of one root, `width` no-op tasks after it, and one task that joins them all; isolated and in-process. */
export async function writeFanOutDag(dir: string, width: number): Promise<void> {
  const code = [
    `import { dag, task } from '@updraft/sdk';`,
    ``,
    `const root = task('root', () => undefined);`,
    `const noop = task('noop', () => undefined);`,
    `const join = task('join', () => undefined);`,
    ``,
    `const build = () => {`,
    `  const start = root();`,
    `  const middle = Array.from({ length: ${width} }, () => noop().after(start));`,
    `  join().after(...middle);`,
    `};`,
    ``,
    `export default dag({ id: '${FAN_OUT_DAG_ID}', description: 'Benchmark: ${width} parallel no-op tasks' }, build);`,
    `export const inProcess = dag({ id: '${FAN_OUT_IN_PROCESS_DAG_ID}', defaultArgs: { isolation: 'none' } }, build);`,
    ``,
  ].join('\n');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'fan_out.ts'), code);
}
