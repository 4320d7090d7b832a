'use client';
// The grid: a DAG's last runs (columns, oldest left) × its tasks (rows), virtualized both ways
// so that only the cells in view are in the DOM. Task groups fold; a mapped task is one row
// whose cells count its instances per state, and unfolds into one row per instance (its map
// index and item), whose states are read a block of map indexes at a time as they scroll into view.
// Its links do not prefetch: hundreds of cells in view would each fetch their page's payload.
// Keyboard: the arrow keys (and Home/End, PageUp/PageDown) move the focused cell across runs
// and tasks, Enter opens it (a roving tabindex: Tab enters the grid once, on the last cell focused).
// Live: each unfinished run in view is followed with `dagRunUpdated`, and the DAG's new runs
// and run state changes with `dagRunsChanged`; an event re-reads the grid.
import { useVirtualizer } from '@tanstack/react-virtual';
import Link from 'next/link';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useQuery, useSubscription } from 'urql';
import { postQuery } from '../lib/client';
import { DAG_GRID, DAG_RUN_UPDATED, DAG_RUNS_CHANGED, MAPPED_SLICE, type GridCell, type MappedSliceData, type GridRow, type RunMark } from '../lib/queries';
import { STATE_STYLES, UNFINISHED, type TaskState } from '../lib/states';
import { Empty, ErrorNote, formatTime, Legend, StateMark } from './ui';

const ROW_HEIGHT = 26;
const COL_WIDTH = 26;
const NAME_WIDTH = 260;
const HEADER_HEIGHT = 70;
/**
 * Unfinished runs followed one subscription each, newest first: the API allows a client 100
 * subscriptions, and any event re-reads the whole grid, older unfinished runs included.
 */
const MAX_FOLLOWED_RUNS = 50;
/** Map indexes read at once for an unfolded mapped task. */
const SLICE = 100;

/** What a grid line shows: a group's header, a task, or one instance of a mapped task unfolded. */
type Line =
  | { kind: 'group'; id: string; depth: number; cells: Map<string, TaskState | null>; collapsed: boolean }
  | { kind: 'task'; row: GridRow; depth: number; cells: Map<string, GridCell>; expanded: boolean }
  | { kind: 'instance'; row: GridRow; mapIndex: number; depth: number };

/** The instances of one block of map indexes of a mapped task, by `${runId}:${mapIndex}`, and its items' labels. */
interface Slice {
  generation: number;
  states: Map<string, TaskState>;
  labels: Map<number, string | null>;
}

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
  /** Bumped by every re-read: unfolded instances in view are read again. */
  const [generation, setGeneration] = useState(0);

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
      setGeneration((g) => g + 1);
    }, 300);
  };
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  const scroller = useRef<HTMLDivElement>(null);
  const rowVirtualizer = useVirtualizer({ count: lines.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 6 });
  const colVirtualizer = useVirtualizer({ horizontal: true, count: runs.length, getScrollElement: () => scroller.current, estimateSize: () => COL_WIDTH, overscan: 4 });
  const rowItems = rowVirtualizer.getVirtualItems();
  const colItems = colVirtualizer.getVirtualItems();

  // The blocks of unfolded instances in view, read as they appear.
  const wanted = [...new Set(rowItems.flatMap((item) => (lines[item.index]?.kind === 'instance' ? [sliceKey(lines[item.index] as Extract<Line, { kind: 'instance' }>)] : [])))];
  const slices = useMappedSlices(dagId, runCount, wanted, generation);

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

  // The focused cell (line, run column): a roving tabindex, moved by the arrow keys.
  const [active, setActive] = useState<{ line: number; col: number } | null>(null);
  const focusWanted = useRef(false);
  const at = {
    line: Math.min(active?.line ?? (lines.length > 0 ? 0 : -1), lines.length - 1),
    col: Math.min(active?.col ?? runs.length - 1, Math.max(runs.length - 1, 0)),
  };
  // Line -1 is the run headers' row (sticky, so always drawn).
  const rendered = (line: number, col: number) => (line === -1 || rowItems.some((r) => r.index === line)) && colItems.some((c) => c.index === col);
  // Tab enters the grid on the active cell, or on the first one drawn when that one scrolled away.
  const tabStop = rendered(at.line, at.col) ? at : { line: rowItems[0]?.index ?? 0, col: colItems.at(-1)?.index ?? 0 };
  useEffect(() => {
    if (!focusWanted.current) return;
    const cell = scroller.current?.querySelector<HTMLElement>(`[data-pos="${at.line}:${at.col}"]`);
    if (cell) {
      focusWanted.current = false;
      cell.focus({ preventScroll: true });
    }
  });
  const moveTo = (line: number, col: number) => {
    const next = { line: clamp(line, -1, lines.length - 1), col: clamp(col, 0, runs.length - 1) };
    setActive(next);
    focusWanted.current = true;
    const el = scroller.current;
    if (!el) return;
    // Bring it into view, clear of the sticky task names and run headers.
    const top = Math.max(next.line, 0) * ROW_HEIGHT;
    if (next.line < 0) {
      // the headers are sticky: always in view
    } else if (top < el.scrollTop) el.scrollTop = top;
    else if (HEADER_HEIGHT + top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = HEADER_HEIGHT + top + ROW_HEIGHT - el.clientHeight;
    const left = next.col * COL_WIDTH;
    if (left < el.scrollLeft) el.scrollLeft = left;
    else if (NAME_WIDTH + left + COL_WIDTH > el.scrollLeft + el.clientWidth) el.scrollLeft = NAME_WIDTH + left + COL_WIDTH - el.clientWidth;
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const pos = (e.target as HTMLElement).closest<HTMLElement>('[data-pos]')?.dataset['pos'];
    if (!pos) return;
    const [line, col] = pos.split(':').map(Number) as [number, number];
    const page = Math.max(1, Math.floor(((scroller.current?.clientHeight ?? 400) - HEADER_HEIGHT) / ROW_HEIGHT) - 1);
    const moves: Record<string, [number, number]> = {
      ArrowUp: [line - 1, col],
      ArrowDown: [line + 1, col],
      ArrowLeft: [line, col - 1],
      ArrowRight: [line, col + 1],
      PageUp: [line - page, col],
      PageDown: [line + page, col],
      Home: e.ctrlKey ? [-1, 0] : [line, 0],
      End: e.ctrlKey ? [lines.length - 1, runs.length - 1] : [line, runs.length - 1],
    };
    const move = moves[e.key];
    if (move) {
      e.preventDefault();
      moveTo(...move);
    } else if (e.key === 'Enter' && e.target === e.currentTarget.querySelector(`[data-pos="${pos}"]`)) {
      // Enter on the cell opens what its link opens (a link focused inside it handles Enter itself).
      const link = (e.target as HTMLElement).querySelector<HTMLAnchorElement>('a');
      if (link) {
        e.preventDefault();
        link.click();
      }
    }
  };

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
      {runs.filter((r) => UNFINISHED.has(r.state)).slice(-MAX_FOLLOWED_RUNS).map((r) => (
        <RunWatcher key={r.id} id={r.id} onEvent={onRunEvent} />
      ))}
      <div className="toolbar">
        <label>
          Runs
          <select value={runCount} aria-label="Runs to show" onChange={(e) => setRunCount(Number(e.target.value))}>
            {[10, 25, 50, 100].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <span className="muted">
          {rows.length} tasks × {runs.length} runs · arrow keys move between cells, Enter opens one
        </span>
      </div>
      {runs.length === 0 ? (
        <Empty title="No runs yet — trigger one">
          Use <Link prefetch={false} href={`/dag?id=${encodeURIComponent(dagId)}&tab=trigger`}>Trigger</Link> to start this DAG's first run.
        </Empty>
      ) : null}
      <div
        className="grid-scroll"
        style={{ height: `min(70vh, ${height + 4}px)` }}
        ref={scroller}
        role="grid"
        aria-label={`Runs × tasks of ${dagId}`}
        aria-rowcount={lines.length}
        aria-colcount={runs.length + 1}
        data-testid="grid"
        onKeyDown={onKeyDown}
      >
        <div style={{ width, height, position: 'relative' }}>
          {/* The run headers, sticky at the top. */}
          <div style={{ position: 'sticky', top: 0, height: HEADER_HEIGHT, width, zIndex: 2 }}>
            <div className="grid-task" style={{ top: 0, height: HEADER_HEIGHT, width: NAME_WIDTH, position: 'sticky', left: 0, zIndex: 3 }}>
              <span className="muted">Task \ run</span>
            </div>
            {colItems.map((col) => {
              const run = runs[col.index]!;
              return (
                <div
                  key={run.id}
                  className="grid-run"
                  role="columnheader"
                  tabIndex={tabStop.line === -1 && tabStop.col === col.index ? 0 : -1}
                  data-pos={`-1:${col.index}`}
                  onFocus={() => (active?.line !== -1 || active?.col !== col.index) && setActive({ line: -1, col: col.index })}
                  style={{ left: NAME_WIDTH + col.start, width: COL_WIDTH, height: HEADER_HEIGHT }}
                >
                  <RunHeader run={run} />
                </div>
              );
            })}
          </div>
          {rowItems.map((item) => {
            const line = lines[item.index]!;
            const top = HEADER_HEIGHT + item.start;
            const slice = line.kind === 'instance' ? slices.get(sliceKey(line)) : undefined;
            return (
              <div key={item.key} role="row" aria-rowindex={item.index + 1} className="grid-line" data-line={lineKey(line)}>
                <div className="grid-task" style={{ top, height: ROW_HEIGHT, width: NAME_WIDTH, position: 'absolute', left: scroller.current?.scrollLeft ?? 0, paddingLeft: 6 + line.depth * 14 }} role="rowheader">
                  <LineName line={line} label={line.kind === 'instance' ? slice?.labels.get(line.mapIndex) : undefined} onToggleGroup={(id) => toggle(collapsed, setCollapsed, id)} onToggleMapped={(id) => toggle(expanded, setExpanded, id)} />
                </div>
                {colItems.map((col) => {
                  const run = runs[col.index]!;
                  const isTabStop = tabStop.line === item.index && tabStop.col === col.index;
                  return (
                    <div
                      key={run.id}
                      className="grid-cell"
                      role="gridcell"
                      tabIndex={isTabStop ? 0 : -1}
                      data-pos={`${item.index}:${col.index}`}
                      onFocus={() => (active?.line !== item.index || active?.col !== col.index) && setActive({ line: item.index, col: col.index })}
                      style={{ top, left: NAME_WIDTH + col.start, width: COL_WIDTH, height: ROW_HEIGHT }}
                    >
                      <CellView line={line} run={run} slice={slice} />
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

function clamp(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, n));
}

function sliceKey(line: Extract<Line, { kind: 'instance' }>): string {
  return `${line.row.task.id}\n${Math.floor(line.mapIndex / SLICE)}`;
}

/**
 * The unfolded instances' states, a block of SLICE map indexes at a time: the blocks in
 * `wanted` (those in view) that are missing or older than `generation` are read, and kept
 * (older ones stay shown until their fresh copy arrives).
 */
function useMappedSlices(dagId: string, runs: number, wanted: string[], generation: number): Map<string, Slice> {
  const [slices, setSlices] = useState<Map<string, Slice>>(new Map());
  const asked = useRef(new Set<string>());
  useEffect(() => {
    setSlices(new Map());
    asked.current.clear();
  }, [dagId, runs]);
  const key = wanted.join('|');
  useEffect(() => {
    for (const block of wanted) {
      if ((slices.get(block)?.generation ?? -1) >= generation) continue;
      const ask = `${block}\n${generation}`;
      if (asked.current.has(ask)) continue;
      asked.current.add(ask);
      const [taskId, n] = block.split('\n') as [string, string];
      void postQuery<MappedSliceData>(MAPPED_SLICE, { dagId, runs, taskId, from: Number(n) * SLICE, count: SLICE })
        .catch(() => null)
        .then((data) => {
          const slice = data?.dagGrid?.mappedInstances;
          if (!slice) return;
          const states = new Map(slice.instances.map((i) => [`${i.dagRunId}:${i.mapIndex}`, i.state]));
          const labels = new Map(slice.items.map((i) => [i.mapIndex, i.label]));
          setSlices((prev) => new Map(prev).set(block, { generation, states, labels }));
        });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, generation, dagId, runs, slices]);
  return slices;
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
    <Link prefetch={false} href={`/run?id=${run.id}`} tabIndex={-1} aria-label={label} title={label} data-run={run.id} data-state={run.state} className="run-link">
      <StateMark state={run.state} size={18} />
    </Link>
  );
}

function lineKey(line: Line): string {
  if (line.kind === 'group') return `group:${line.id}`;
  if (line.kind === 'task') return `task:${line.row.task.id}`;
  return `task:${line.row.task.id}[${line.mapIndex}]`;
}

function LineName({
  line,
  label,
  onToggleGroup,
  onToggleMapped,
}: {
  line: Line;
  label: string | null | undefined;
  onToggleGroup: (id: string) => void;
  onToggleMapped: (id: string) => void;
}) {
  if (line.kind === 'group') {
    return (
      <button aria-expanded={!line.collapsed} onClick={() => onToggleGroup(line.id)} title={`Task group ${line.id}`}>
        {line.collapsed ? '▸' : '▾'} <strong>{line.id.split('.').pop()}</strong>
      </button>
    );
  }
  if (line.kind === 'instance') {
    return (
      <span className="muted" title={label ? `[${line.mapIndex}] ${label}` : `map index ${line.mapIndex}`}>
        [{line.mapIndex}] {label ?? ''}
      </span>
    );
  }
  const task = line.row.task;
  const name = task.groupId ? task.id.slice(task.groupId.length + 1) || task.id : task.id;
  return (
    <>
      {task.mapped ? (
        <button aria-expanded={line.expanded} aria-label={`${line.expanded ? 'Fold' : 'Unfold'} the instances of mapped task ${task.id}`} onClick={() => onToggleMapped(task.id)}>
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

function CellView({ line, run, slice }: { line: Line; run: RunMark; slice: Slice | undefined }) {
  if (line.kind === 'group') {
    const state = line.cells.get(run.id);
    return state === undefined ? null : <StateMark state={state} size={14} />;
  }
  const task = line.row.task;
  if (line.kind === 'instance') {
    const state = slice?.states.get(`${run.id}:${line.mapIndex}`);
    if (state === undefined) return null;
    const label = `${task.id}[${line.mapIndex}] in run ${run.runId}: ${STATE_STYLES[state].label}`;
    return (
      <Link prefetch={false} href={`/task?run=${run.id}&task=${encodeURIComponent(task.id)}&map=${line.mapIndex}`} tabIndex={-1} title={label} aria-label={label} data-task={task.id} data-map={line.mapIndex} data-run={run.id} data-state={state} className="cell-link">
        <StateMark state={state} size={14} />
      </Link>
    );
  }
  const cell = line.cells.get(run.id);
  if (!cell || cell.instances === 0) return null;
  const href = task.mapped ? `/run?id=${run.id}&task=${encodeURIComponent(task.id)}` : `/task?run=${run.id}&task=${encodeURIComponent(task.id)}&map=-1`;
  const summary = cell.counts.map((c) => `${c.count} ${STATE_STYLES[c.state]?.label ?? c.state}`).join(', ');
  const label = `${task.id} in run ${run.runId}: ${task.mapped ? summary : STATE_STYLES[cell.state ?? 'none'].label}`;
  return (
    <Link prefetch={false} href={href} tabIndex={-1} title={label} aria-label={label} data-task={task.id} data-run={run.id} data-state={cell.state ?? 'none'} className="cell-link">
      <StateMark state={cell.state} size={16}>
        {task.mapped ? <small>{cell.instances > 99 ? '∗' : cell.instances}</small> : undefined}
      </StateMark>
    </Link>
  );
}

/** The grid's lines in order: groups before their tasks, folded groups hiding theirs, unfolded mapped tasks followed by their instances. */
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
      // Map indexes run from 0 to the largest count of instances among the shown runs.
      const count = Math.max(0, ...row.cells.map((c) => c.instances));
      for (let mapIndex = 0; mapIndex < count; mapIndex++) lines.push({ kind: 'instance', row, mapIndex, depth: depth + 1 });
    }
  }
  return lines;
}
