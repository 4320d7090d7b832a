'use client';
// The graph: tasks laid out left to right by dagre, task groups drawn as boxes around their
// tasks, each task coloured (with its state's symbol and word) by a chosen run, live.
import dagre from '@dagrejs/dagre';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { DAG_GRID, type DagDetail } from '../lib/queries';
import { stateStyle, UNFINISHED } from '../lib/states';
import { RunWatcher } from './Grid';
import { Empty, Legend } from './ui';

const NODE_W = 170;
const NODE_H = 36;

export function Graph({ dag }: { dag: DagDetail }) {
  const [{ data }, refetch] = useQuery({ query: DAG_GRID, variables: { dagId: dag.id, runs: 25, after: null }, requestPolicy: 'cache-and-network' });
  const runs = useMemo(() => [...(data?.dagGrid?.runs ?? [])].sort((a, b) => Number(b.id) - Number(a.id)), [data]);
  const [chosen, setChosen] = useState<string | null>(null);
  const runId = chosen ?? runs[0]?.id ?? null;
  const run = runs.find((r) => r.id === runId) ?? null;
  const states = useMemo(() => {
    const byTask = new Map<string, string | null>();
    for (const edge of data?.dagGrid?.rows.edges ?? []) {
      const cell = edge.node.cells.find((c) => c.dagRunId === runId);
      byTask.set(edge.node.task.id, cell?.state ?? null);
    }
    return byTask;
  }, [data, runId]);

  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph({ compound: true });
    g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 48, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const group of dag.groups ?? []) g.setNode(`group:${group.id}`, { label: group.id, paddingTop: 24 });
    for (const group of dag.groups ?? []) if (group.parentId) g.setParent(`group:${group.id}`, `group:${group.parentId}`);
    for (const task of dag.tasks ?? []) {
      g.setNode(task.id, { width: NODE_W, height: NODE_H });
      if (task.groupId) g.setParent(task.id, `group:${task.groupId}`);
    }
    for (const e of dag.edges ?? []) g.setEdge(e.upstreamId, e.downstreamId);
    dagre.layout(g);
    return g;
  }, [dag]);

  if ((dag.tasks ?? []).length === 0) return <Empty title="This DAG has no tasks" />;
  const graph = layout.graph();
  return (
    <section aria-label="Graph">
      {run && UNFINISHED.has(run.state) ? <RunWatcher id={run.id} onEvent={() => refetch({ requestPolicy: 'network-only' })} /> : null}
      <div className="toolbar">
        <label>
          Colours of run
          <select value={runId ?? ''} onChange={(e) => setChosen(e.target.value || null)}>
            {runs.length === 0 ? <option value="">no runs yet</option> : null}
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.runId} ({r.state})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="graph">
        <svg width={graph.width ?? 0} height={graph.height ?? 0} role="img" aria-label={`Graph of ${dag.id}`}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="var(--muted)" />
            </marker>
          </defs>
          {(dag.groups ?? []).map((group) => {
            const n = layout.node(`group:${group.id}`);
            if (!n) return null;
            return (
              <g key={group.id}>
                <rect x={n.x - n.width / 2} y={n.y - n.height / 2} width={n.width} height={n.height} rx={8} fill="none" stroke="var(--border)" strokeDasharray="4 3" />
                <text x={n.x - n.width / 2 + 8} y={n.y - n.height / 2 + 14}>
                  {group.id}
                </text>
              </g>
            );
          })}
          {layout.edges().map((e) => {
            const points = layout.edge(e).points ?? [];
            return <polyline key={`${e.v}->${e.w}`} points={points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="var(--muted)" markerEnd="url(#arrow)" />;
          })}
          {(dag.tasks ?? []).map((task) => {
            const n = layout.node(task.id);
            const state = states.get(task.id) ?? null;
            const s = stateStyle(state);
            const x = n.x - NODE_W / 2;
            const y = n.y - NODE_H / 2;
            const label = `${task.id}${run ? `: ${s.label}` : ''}`;
            const node = (
              <g data-task={task.id} data-state={state ?? 'none'}>
                <title>{label}</title>
                <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={6} fill="var(--panel)" stroke={run ? s.color : 'var(--border)'} strokeWidth={2} />
                <rect x={x} y={y} width={8} height={NODE_H} rx={3} fill={run ? s.color : 'var(--border)'} />
                <text x={x + 14} y={y + 15}>
                  {task.id.length > 22 ? `${task.id.slice(0, 21)}…` : task.id}
                  {task.mapped ? ' [ ]' : ''}
                </text>
                <text x={x + 14} y={y + 29} style={{ fontSize: 10, fill: 'var(--muted)' }}>
                  {run ? `${s.symbol} ${s.label}` : task.kind}
                </text>
              </g>
            );
            return run ? (
              <Link prefetch={false} key={task.id} href={task.mapped ? `/run?id=${run.id}&task=${encodeURIComponent(task.id)}` : `/task?run=${run.id}&task=${encodeURIComponent(task.id)}&map=-1`} aria-label={label}>
                {node}
              </Link>
            ) : (
              <g key={task.id}>{node}</g>
            );
          })}
        </svg>
      </div>
      <Legend />
    </section>
  );
}
