import type { Summary } from './stats.js';

/** A percentile row, for what the `--*-only` flags print (the suite's figures are in figures.ts). */
export interface Row {
  name: string;
  summary: Summary;
}

const ms = (v: number) => v.toFixed(2);

export function table(rows: Row[]): string {
  return [
    '| measurement | n | p50 (ms) | p90 (ms) | p95 (ms) | p99 (ms) | max (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(({ name, summary: s }) => `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} |`),
  ].join('\n');
}
