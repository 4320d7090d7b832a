// `npx tsx bench/cli-startup.ts [runs]`: how long `updraft --help` takes, start to exit, as a
// user runs it (node + the compiled CLI, server/bin/updraft.js; `npm run build` first). Prints
// the median, the fastest and the slowest of `runs` (default 11) as one JSON line.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../server/bin/updraft.js');
const runs = Number(process.argv[2] ?? 11);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number of at least 1, got ${process.argv[2]}`);

const ms: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  ms.push(performance.now() - started);
  if (result.status !== 0) throw new Error(`updraft --help exited ${result.status}: ${result.stderr}`);
}
ms.sort((a, b) => a - b);
const round = (n: number) => Math.round(n);
console.log(JSON.stringify({ command: 'updraft --help', runs, medianMs: round(ms[Math.floor(runs / 2)]!), minMs: round(ms[0]!), maxMs: round(ms.at(-1)!) }));
