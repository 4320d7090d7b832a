// `npx tsx bench/xcom-codec.ts`: what the XCom codec (server/src/xcom/codec.cjs) costs per
// value next to the JSON.stringify / JSON.parse it replaced, for the small values of the
// hot path (a number, a small object, the fan-out's values) and a non-JSON one. Prints a
// table; BENCHMARKS.md is left alone. A handoff costs about a millisecond: these are microseconds.
import { performance } from 'node:perf_hooks';
import { decode, encode } from '../server/src/xcom/codec.cjs';

const VALUES: Record<string, unknown> = {
  'number (42)': 42,
  'small object': { region: 'emea', amount: 400, tags: ['a', 'b'] },
  '100-row list': Array.from({ length: 100 }, (_, i) => ({ id: i, name: `row ${i}` })),
  'Date + Map (devalue)': { at: new Date(0), index: new Map([['a', 1]]) },
};
const ITERATIONS = 20_000;
const MAX = 1024 ** 3;

function perCallUs(fn: () => void): number {
  for (let i = 0; i < 1_000; i++) fn(); // warm up
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

console.log('| value | JSON.stringify + parse (µs) | encode + decode (µs) |');
console.log('| --- | --- | --- |');
for (const [name, value] of Object.entries(VALUES)) {
  const json = perCallUs(() => JSON.parse(JSON.stringify(value)));
  const codec = perCallUs(() => {
    const e = encode(value, 'bench', MAX);
    decode(e.encoding, e.text);
  });
  console.log(`| ${name} | ${json.toFixed(2)} | ${codec.toFixed(2)} |`);
}
