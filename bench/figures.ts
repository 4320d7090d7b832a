// The bench's output contract (issue 12): one JSON line per figure on stdout, and
// BENCHMARKS.md as a table of the same figures with the issue's targets, met or missed.
import type { Machine } from './environment.js';
import type { ServerProbe } from './server-probe.js';

/** The units figures are given in. */
export type Unit = 'ms' | 'tasks/s' | 'queries/s' | 'MB' | 'kB' | 'connections';

/**
 * One figure: Updraft's value, its baseline's (raw graphile-worker) and its peer's (DBOS
 * Transact), measured in the same run; null where a column does not apply (or its workload failed).
 */
export interface Figure {
  figure: string;
  unit: Unit;
  updraft: number | null;
  baseline: number | null;
  peer: number | null;
  /** updraft / baseline; null unless both are known. */
  ratio: number | null;
}

/** What a figure's workload was, for the table (not part of the JSON line). */
export interface FigureNote {
  /** The workload's size when it differs from the figure's name (quick mode). */
  measuredOver?: string;
  /** Why a figure has no value: its workload failed. */
  error?: string;
}

/** A target of the issue, checked against a figure. */
export interface Target {
  figure: string;
  text: string;
  met(f: Figure): boolean | null;
}

const round = (v: number | null) => (v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(4)));

export function figure(name: string, unit: Unit, values: { updraft?: number | null; baseline?: number | null; peer?: number | null }): Figure {
  const updraft = round(values.updraft ?? null);
  const baseline = round(values.baseline ?? null);
  const peer = round(values.peer ?? null);
  const ratio = updraft !== null && baseline !== null && baseline !== 0 ? round(updraft / baseline) : null;
  return { figure: name, unit, updraft, baseline, peer, ratio };
}

/** The figure's JSON line, keys in the contract's order. */
export function jsonLine(f: Figure): string {
  return JSON.stringify({ figure: f.figure, unit: f.unit, updraft: f.updraft, baseline: f.baseline, peer: f.peer, ratio: f.ratio });
}

/** Every figure the issue names: printed (with nulls) even when their workload failed. */
export const REQUIRED_FIGURES: ReadonlyArray<[name: string, unit: Unit]> = [
  ['chain40.per_task', 'ms'],
  ['chain200.per_task', 'ms'],
  ['chain200.handoff.p50', 'ms'],
  ['chain200.handoff.p99', 'ms'],
  ['fanout1k.tasks_per_s', 'tasks/s'],
  ['fanout10k.tasks_per_s', 'tasks/s'],
  ['trigger.graphql.p50', 'ms'],
  ['trigger.webhook.p50', 'ms'],
  ['runs100x50.wall', 'ms'],
  ['api.task_page.p95', 'ms'],
  ['api.grid25.p95', 'ms'],
  ['api.dag_list1k.p95', 'ms'],
  ['idle.queries_per_s', 'queries/s'],
  ['worker.rss_idle_mb', 'MB'],
  ['worker.rss_fanout_mb', 'MB'],
];

const known = (v: number | null): v is number => v !== null;

/** The issue's targets (this 2-core machine, both PostgreSQL versions, default durability). */
export const TARGETS: Target[] = [
  { figure: 'fanout1k.tasks_per_s', text: '≥ 50% of raw graphile-worker with localQueue and batched completion (ratio ≥ 0.5)', met: (f) => (known(f.ratio) ? f.ratio >= 0.5 : null) },
  { figure: 'fanout10k.tasks_per_s', text: '≥ 50% of raw graphile-worker with localQueue and batched completion (ratio ≥ 0.5)', met: (f) => (known(f.ratio) ? f.ratio >= 0.5 : null) },
  { figure: 'chain200.handoff.p50', text: '≤ 1.2× raw add_job → start (ratio ≤ 1.2)', met: (f) => (known(f.ratio) ? f.ratio <= 1.2 : null) },
  { figure: 'chain200.handoff.p99', text: '≤ 25 ms', met: (f) => (known(f.updraft) ? f.updraft <= 25 : null) },
  { figure: 'chain200.per_task', text: '≤ raw graphile-worker job-enqueues-next chain per step (ratio ≤ 1)', met: (f) => (known(f.ratio) ? f.ratio <= 1 : null) },
  { figure: 'trigger.graphql.p50', text: '≤ 10 ms', met: (f) => (known(f.updraft) ? f.updraft <= 10 : null) },
  { figure: 'trigger.webhook.p50', text: '≤ 20 ms', met: (f) => (known(f.updraft) ? f.updraft <= 20 : null) },
  { figure: 'api.task_page.p95', text: '≤ 100 ms', met: (f) => (known(f.updraft) ? f.updraft <= 100 : null) },
  { figure: 'api.grid25.p95', text: '≤ 100 ms', met: (f) => (known(f.updraft) ? f.updraft <= 100 : null) },
  { figure: 'api.dag_list1k.p95', text: '≤ 100 ms', met: (f) => (known(f.updraft) ? f.updraft <= 100 : null) },
  { figure: 'idle.queries_per_s', text: '≤ 2 queries/s', met: (f) => (known(f.updraft) ? f.updraft <= 2 : null) },
];

const cell = (v: number | null) => (v === null ? '—' : String(v));

/** BENCHMARKS.md: the figures' table, the targets met or missed, and how each figure is measured. */
export function benchmarksMarkdown(opts: {
  machine: Machine;
  /** The server's own round trip and commit cost, and its settings. */
  server?: ServerProbe;
  figures: Figure[];
  notes: Map<string, FigureNote>;
  quick: boolean;
  elapsedS: number;
  method: string[];
  findings: string[];
  /** The result files of the latest runs on other servers, listed under the header. */
  otherServers?: string[];
}): string {
  const m = opts.machine;
  const machineCell = `${m.cpus} CPUs, ${m.memoryGiB} GiB, Node ${m.node}, ${m.postgresShort}`;
  const date = m.date.slice(0, 16).replace('T', ' ') + ' UTC';
  const byName = new Map(opts.figures.map((f) => [f.figure, f]));
  const rows = opts.figures.map((f) => {
    const note = opts.notes.get(f.figure);
    const name = `\`${f.figure}\`${note?.measuredOver ? ` (quick: over ${note.measuredOver})` : ''}${note?.error ? ` (failed: ${note.error.replaceAll('|', '/')})` : ''}`;
    return `| ${name} | ${f.unit} | ${cell(f.updraft)} | ${cell(f.baseline)} | ${cell(f.peer)} | ${cell(f.ratio)} | ${machineCell} | ${date} |`;
  });
  const targets = TARGETS.map((t) => {
    const f = byName.get(t.figure);
    const met = f ? t.met(f) : null;
    const verdict = met === null ? 'not measured' : met ? '**met**' : '**missed**';
    const value = f ? `Updraft ${cell(f.updraft)} ${f.unit}${f.ratio !== null ? `, ratio ${f.ratio}` : ''}` : '—';
    return `| \`${t.figure}\` | ${t.text} | ${value} | ${verdict} |`;
  });
  return `# Benchmarks

Generated by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${m.date}, in one run on one machine, in ${opts.elapsedS.toFixed(0)} s.
${opts.quick ? '**Quick run**: smaller counts (each figure says what it was measured over), one sample where the full run takes several: a smoke test of the bench, not the figures to quote.\n' : ''}The machine is shared and noisy: read the ratios, not single extremes.${
    opts.otherServers && opts.otherServers.length > 0 ? `\nThe latest run on another server: ${opts.otherServers.map((f) => `[${f}](${f})`).join(', ')}.` : ''
  }

- Machine: ${m.cpus} CPUs (nproc), ${m.memoryGiB} GiB, Node ${m.node}
- Server: ${m.postgres}${
    opts.server
      ? `\n- Server cost, measured first: \`SELECT 1\` round trip p50 ${opts.server.roundTrip.p50.toFixed(2)} ms, a one-row INSERT in autocommit (one WAL flush) p50 ${opts.server.commit.p50.toFixed(2)} ms / p99 ${opts.server.commit.p99.toFixed(2)} ms; settings: ${Object.entries(opts.server.settings)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`
      : ''
  }
- Database: ${m.database}

*Updraft* is this repository; *baseline* is raw graphile-worker 0.17 doing the same work (its fastest settings for throughput); *peer* is DBOS Transact ${m.dbos ?? ''} on the same PostgreSQL; *ratio* = Updraft / baseline (for tasks/s, higher is better; for ms and MB, lower). Each figure is also printed as one JSON line by the bench.

| figure | unit | Updraft | baseline | peer | ratio | machine | date |
| --- | --- | ---: | ---: | ---: | ---: | --- | --- |
${rows.join('\n')}

## Targets (issue 12)

| figure | target | measured | |
| --- | --- | --- | --- |
${targets.join('\n')}
${opts.findings.length > 0 ? `\n## Findings\n\n${opts.findings.join('\n\n')}\n` : ''}
## How each figure is measured

${opts.method.join('\n\n')}

To see where a handoff's time goes, statement by statement, run \`npx tsx bench/profile-handoff.ts\`.
`;
}
