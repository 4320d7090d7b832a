'use client';
// The grid: a DAG's last runs (columns, oldest left) × its tasks (rows), virtualized both ways
// so that only the cells in view are in the DOM. Task groups fold; a mapped task is one row
// whose cells count its instances per state, and unfolds into one row per state.
// Live: each unfinished run in view is followed with `dagRunUpdated`, and the DAG's new runs
// and run state changes with `dagRunsChanged`; an event re-reads the grid.
import { useVirtualizer } from '@tanstack/react-virtual';
import Link from 'next/link';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { DAG_GRID, DAG_RUN_UPDATED, DAG_RUNS_CHANGED, type GridCell, type GridRow, type RunMark } from '../lib/queries';
import { STATE_STYLES, UNFINISHED, type TaskState } from '../lib/states';
import { Empty, ErrorNote, formatTime, Legend, StateMark } from './ui';

const ROW_HEIGHT = 26;
const COL_WIDTH = 26;
const NAME_WIDTH = 260;
const HEADER_HEIGHT = 70;

/** What a grid line shows: a group's header, a task, or one state of a mapped task unfolded. */
type Line =
  | { kind: 'group'; id: string; depth: number; cells: Map<string, TaskState | null>; collapsed: boolean }
  | { kind: 'task'; row: GridRow; depth: number; cells: Map<string, GridCell>; expanded: boolean }
  | { kind: 'mapped-state'; row: GridRow; state: TaskState; depth: number; cells: Map<string, GridCell> };

/** Which state a group shows for a run: the most urgent of its tasks'. */
const URGENCY: TaskState[] = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'up_for_reschedule', 'queued', 'scheduled', 'none', 'skipped', 'removed', 'success'];

function worst(states: Array<TaskState | null>): TaskState | null {
  let best: TaskState | null = null;
  for (const s of states) if (s && (best === null || URGENCY.indexOf(s) < URGENCY.indexOf(best))) best = s;
  return best;
}

export function Grid({ dagId, groups }: { dagId: string; groups: Array<{ id: string; parentId: string | null }> }) {
  const [runCount, setRunCount] = useState(25);
  const [{ data, error, fetching }, refetch] = useQuery({ query: DAG_GRID, variables: { dagId, runs: runCount, after: null }, requestPolicy: 'cache-and-network' });
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  const runs = useMemo(() => [...(data?.dagGrid?.runs ?? [])].sort((a, b) => Number(a.id) - Number(b.id)), [data]);
  const rows = useMemo(() => data?.dagGrid?.rows.edges.map((e) => e.node) ?? [], [data]);
  const lines = useMemo(() => buildLines(rows, groups, collapsed, expanded), [rows, groups, collapsed, expanded]);

  // Follow unfinished runs; an event re-reads the grid (at most every 300 ms).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onRunEvent = () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      refetch({ requestPolicy: 'network-only' });
    }, 300);
  };
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  const scroller = useRef<HTMLDivElement>(null);
  const rowVirtualizer = useVirtualizer({ count: lines.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 6 });
  const colVirtualizer = useVirtualizer({ horizontal: true, count: runs.length, getScrollElement: () => scroller.current, estimateSize: () => COL_WIDTH, overscan: 4 });

  // Newest runs are on the right: start scrolled there, and stay there as new runs arrive
  // (unless the user scrolled back to older runs).
  const atRight = useRef(true);
  useEffect(() => {
    const el = scroller.current;
    if (atRight.current && runs.length > 0 && el) el.scrollLeft = el.scrollWidth;
  }, [runs.length]);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => void (atRight.current = el.scrollLeft + el.clientWidth >= el.scrollWidth - COL_WIDTH);
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, [data !== undefined]);

  const toggle = (set: Set<string>, setter: (s: Set<string>) => void, id: string) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setter(next);
  };

  if (error) return <ErrorNote error={error} />;
  if (!data && fetching) return <p className="muted">Loading the grid…</p>;
  const width = NAME_WIDTH + runs.length * COL_WIDTH;
  const height = HEADER_HEIGHT + lines.length * ROW_HEIGHT;

  return (
    <section aria-label="Grid">
      <DagRunsWatcher dagId={dagId} onEvent={onRunEvent} />
      {runs.filter((r) => UNFINISHED.has(r.state)).map((r) => (
        <RunWatcher key={r.id} id={r.id} onEvent={onRunEvent} />
      ))}
      <div className="toolbar">
        <label>
          Runs
          <select value={runCount} onChange={(e) => setRunCount(Number(e.target.value))}>
            {[10, 25, 50, 100].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <span className="muted">
          {rows.length} tasks × {runs.length} runs
        </span>
      </div>
      {runs.length === 0 ? (
        <Empty title="No runs yet — trigger one">
          Use <Link href={`/dag?id=${encodeURIComponent(dagId)}&tab=trigger`}>Trigger</Link> to start this DAG's first run.
        </Empty>
      ) : null}
      <div className="grid-scroll" style={{ height: `min(70vh, ${height + 4}px)` }} ref={scroller} role="grid" aria-rowcount={lines.length} aria-colcount={runs.length + 1} data-testid="grid">
        <div style={{ width, height, position: 'relative' }}>
          {/* The run headers, sticky at the top. */}
          <div style={{ position: 'sticky', top: 0, height: HEADER_HEIGHT, width, zIndex: 2 }}>
            <div className="grid-task" style={{ top: 0, height: HEADER_HEIGHT, width: NAME_WIDTH, position: 'sticky', left: 0, zIndex: 3 }}>
              <span className="muted">Task \ run</span>
            </div>
            {colVirtualizer.getVirtualItems().map((col) => {
              const run = runs[col.index]!;
              return (
                <div key={run.id} className="grid-run" style={{ left: NAME_WIDTH + col.start, width: COL_WIDTH, height: HEADER_HEIGHT }}>
                  <RunHeader run={run} />
                </div>
              );
            })}
          </div>
          {rowVirtualizer.getVirtualItems().map((item) => {
            const line = lines[item.index]!;
            const top = HEADER_HEIGHT + item.start;
            return (
              <div key={item.key} role="row" aria-rowindex={item.index + 1} className="grid-line" data-line={lineKey(line)}>
                <div className="grid-task" style={{ top, height: ROW_HEIGHT, width: NAME_WIDTH, position: 'absolute', left: scroller.current?.scrollLeft ?? 0, paddingLeft: 6 + line.depth * 14 }} role="rowheader">
                  <LineName line={line} onToggleGroup={(id) => toggle(collapsed, setCollapsed, id)} onToggleMapped={(id) => toggle(expanded, setExpanded, id)} />
                </div>
                {colVirtualizer.getVirtualItems().map((col) => {
                  const run = runs[col.index]!;
                  return (
                    <div key={run.id} className="grid-cell" role="gridcell" style={{ top, left: NAME_WIDTH + col.start, width: COL_WIDTH, height: ROW_HEIGHT }}>
                      <CellView line={line} run={run} />
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
      <StickyNames scroller={scroller} />
      <Legend />
    </section>
  );
}

/** Keeps the task names at the left edge while the grid scrolls sideways. */
function StickyNames({ scroller }: { scroller: React.RefObject<HTMLDivElement | null> }) {
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      for (const name of el.querySelectorAll<HTMLElement>('.grid-line > .grid-task')) name.style.left = `${el.scrollLeft}px`;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, [scroller]);
  return null;
}

/** Follows a run; every event but the opening one (a resync of what was just read) calls `onEvent`. */
export function RunWatcher({ id, onEvent }: { id: string; onEvent: () => void }) {
  const [{ data }] = useSubscription({ query: DAG_RUN_UPDATED, variables: { id } });
  const events = useRef(0);
  useEffect(() => {
    if (data && ++events.current > 1) onEvent();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data]);
  return null;
}

/** Follows a DAG's runs (new ones, state changes); every event but the opening one calls `onEvent`. */
export function DagRunsWatcher({ dagId, onEvent }: { dagId: string; onEvent: () => void }) {
  const [{ data }] = useSubscription({ query: DAG_RUNS_CHANGED, variables: { dagId } });
  const events = useRef(0);
  useEffect(() => {
    if (data && ++events.current > 1) onEvent();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data]);
  return null;
}

function RunHeader({ run }: { run: RunMark }) {
  const label = `Run ${run.runId}: ${run.state}, ${formatTime(run.logicalDate ?? run.startedAt)}`;
  return (
    <Link href={`/run?id=${run.id}`} aria-label={label} title={label} data-run={run.id} data-state={run.state} className="run-link">
      <StateMark state={run.state} size={18} />
    </Link>
  );
}

function lineKey(line: Line): string {
  if (line.kind === 'group') return `group:${line.id}`;
  if (line.kind === 'task') return `task:${line.row.task.id}`;
  return `task:${line.row.task.id}:${line.state}`;
}

function LineName({ line, onToggleGroup, onToggleMapped }: { line: Line; onToggleGroup: (id: string) => void; onToggleMapped: (id: string) => void }) {
  if (line.kind === 'group') {
    return (
      <button aria-expanded={!line.collapsed} onClick={() => onToggleGroup(line.id)} title={`Task group ${line.id}`}>
        {line.collapsed ? '▸' : '▾'} <strong>{line.id.split('.').pop()}</strong>
      </button>
    );
  }
  if (line.kind === 'mapped-state') {
    return (
      <span className="muted">
        <StateMark state={line.state} size={10} /> {STATE_STYLES[line.state].label}
      </span>
    );
  }
  const task = line.row.task;
  const name = task.groupId ? task.id.slice(task.groupId.length + 1) || task.id : task.id;
  return (
    <>
      {task.mapped ? (
        <button aria-expanded={line.expanded} aria-label={`${line.expanded ? 'Fold' : 'Unfold'} the states of mapped task ${task.id}`} onClick={() => onToggleMapped(task.id)}>
          {line.expanded ? '▾' : '▸'}
        </button>
      ) : null}
      <span title={task.id} className={line.row.inLatestVersion ? undefined : 'muted'}>
        {name}
        {task.mapped ? ' [ ]' : ''}
      </span>
    </>
  );
}

function CellView({ line, run }: { line: Line; run: RunMark }) {
  if (line.kind === 'group') {
    const state = line.cells.get(run.id);
    return state === undefined ? null : <StateMark state={state} size={14} />;
  }
  const cell = line.cells.get(run.id);
  if (!cell || cell.instances === 0) return null;
  const task = line.row.task;
  const href = task.mapped ? `/run?id=${run.id}&task=${encodeURIComponent(task.id)}` : `/task?run=${run.id}&task=${encodeURIComponent(task.id)}&map=-1`;
  if (line.kind === 'mapped-state') {
    const count = cell.counts.find((c) => c.state === line.state)?.count ?? 0;
    if (count === 0) return null;
    return (
      <Link href={`${href}&state=${line.state}`} title={`${count} ${STATE_STYLES[line.state].label}`} aria-label={`${task.id} in run ${run.runId}: ${count} ${STATE_STYLES[line.state].label}`}>
        <span className="counts">{count > 999 ? `${Math.floor(count / 1000)}k` : count}</span>
      </Link>
    );
  }
  const summary = cell.counts.map((c) => `${c.count} ${STATE_STYLES[c.state]?.label ?? c.state}`).join(', ');
  const label = `${task.id} in run ${run.runId}: ${task.mapped ? summary : STATE_STYLES[cell.state ?? 'none'].label}`;
  return (
    <Link href={href} title={label} aria-label={label} data-task={task.id} data-run={run.id} data-state={cell.state ?? 'none'} className="cell-link">
      <StateMark state={cell.state} size={16}>
        {task.mapped ? <small>{cell.instances > 99 ? '∗' : cell.instances}</small> : undefined}
      </StateMark>
    </Link>
  );
}

/** The grid's lines in order: groups before their tasks, folded groups hiding theirs. */
function buildLines(rows: GridRow[], groups: Array<{ id: string; parentId: string | null }>, collapsed: Set<string>, expanded: Set<string>): Line[] {
  const parentOf = new Map(groups.map((g) => [g.id, g.parentId]));
  const chain = (groupId: string | null): string[] => {
    const out: string[] = [];
    for (let g = groupId; g; g = parentOf.get(g) ?? null) out.unshift(g);
    return out;
  };
  // Each group's cells: the most urgent state of its tasks per run.
  const groupStates = new Map<string, Map<string, Array<TaskState | null>>>();
  for (const row of rows) {
    for (const g of chain(row.task.groupId)) {
      const byRun = groupStates.get(g) ?? new Map<string, Array<TaskState | null>>();
      for (const cell of row.cells) byRun.set(cell.dagRunId, [...(byRun.get(cell.dagRunId) ?? []), cell.state]);
      groupStates.set(g, byRun);
    }
  }
  const lines: Line[] = [];
  const opened = new Set<string>();
  for (const row of rows) {
    const groupsOfRow = chain(row.task.groupId);
    let hidden = false;
    groupsOfRow.forEach((g, depth) => {
      if (hidden) return;
      if (!opened.has(g)) {
        opened.add(g);
        const cells = new Map([...(groupStates.get(g) ?? new Map()).entries()].map(([run, states]) => [run, worst(states)]));
        lines.push({ kind: 'group', id: g, depth, cells, collapsed: collapsed.has(g) });
      }
      if (collapsed.has(g)) hidden = true;
    });
    if (hidden) continue;
    const depth = groupsOfRow.length;
    const cells = new Map(row.cells.map((c) => [c.dagRunId, c]));
    const isExpanded = row.task.mapped && expanded.has(row.task.id);
    lines.push({ kind: 'task', row, depth, cells, expanded: isExpanded });
    if (isExpanded) {
      const states = new Set(row.cells.flatMap((c) => c.counts.map((k) => k.state)));
      for (const state of URGENCY) if (states.has(state)) lines.push({ kind: 'mapped-state', row, state, depth: depth + 1, cells });
    }
  }
  return lines;
}
