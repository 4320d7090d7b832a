import fs from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';

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

export const MAPPED_DAG_ID = 'bench_mapped';
/** The same mapped run with `isolation: 'none'`. */
export const MAPPED_IN_PROCESS_DAG_ID = 'bench_mapped_in_process';

/** A DAG whose first task returns `count` numbers, a no-op mapped over them, and a sum of the mapped outputs; isolated and in-process. */
export async function writeMappedDag(dir: string, count: number): Promise<void> {
  const code = [
    `import { dag, task } from '@updraft/sdk';`,
    ``,
    `const list = task('list', () => Array.from({ length: ${count} }, (_, i) => i));`,
    `const noop = task('noop', (n: number) => n);`,
    `const sum = task('sum', (values: number[]) => values.reduce((a, b) => a + b, 0));`,
    ``,
    `const build = () => { sum(noop.map(list())); };`,
    ``,
    `export default dag({ id: '${MAPPED_DAG_ID}', description: 'Benchmark: a no-op mapped over ${count} items, then a sum' }, build);`,
    `export const inProcess = dag({ id: '${MAPPED_IN_PROCESS_DAG_ID}', defaultArgs: { isolation: 'none' } }, build);`,
    ``,
  ].join('\n');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'mapped.ts'), code);
}

/** For the DAG's latest run: from the `list` try's end to the first mapped instance's start, which spans expanding every instance. */
export async function expansionMs(pool: Pool, dagId: string): Promise<number> {
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM min(tt.started_at) FILTER (WHERE ti.task_id = 'noop') - max(tt.ended_at) FILTER (WHERE ti.task_id = 'list'))::float8 * 1000 AS ms
     FROM task_instance ti JOIN task_try tt ON tt.task_instance_id = ti.id
     WHERE ti.dag_run_id = (SELECT max(id) FROM dag_run WHERE dag_id = $1)`,
    [dagId],
  );
  return rows[0]!.ms;
}
