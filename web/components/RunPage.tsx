'use client';
// A run: its details and actions, and its task instances as one virtualized list with a gantt
// bar each (pages of 500 read as the list scrolls), kept live by `dagRunUpdated`.
import { useVirtualizer } from '@tanstack/react-virtual';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { CANCEL_RUN, DAG_RUN, DAG_RUN_UPDATED, MARK_RUN, RUN_TASK_INSTANCES, type RunDetail, type TaskInstanceRow } from '../lib/queries';
import { stateStyle, TASK_STATES, UNFINISHED, type TaskState } from '../lib/states';
import { useAuth } from './Shell';
import { ConfirmButton, Empty, ErrorNote, formatDuration, formatTime, Json, Legend, StateBadge, StateMark } from './ui';

const PAGE = 500;
const ROW_HEIGHT = 30;

export function RunPage() {
  const params = useSearchParams();
  const id = params.get('id') ?? '';
  const [{ data, error }, refetchRun] = useQuery({ query: DAG_RUN, variables: { id }, pause: !id });
  const run = data?.dagRun;
  // Followed even when finished: a clear or a mark brings it back.
  const [live] = useSubscription({ query: DAG_RUN_UPDATED, variables: { id }, pause: !id });
  const [listGeneration, setListGeneration] = useState(0);
  const events = useRef(0);
  useEffect(() => {
    // Task instances arrive as entities and update the list by themselves; a resync after the
    // opening one (the first event always says resync) reads the list anew.
    if (!live.data) return;
    events.current += 1;
    if (live.data.dagRunUpdated.resync && events.current > 1) {
      refetchRun({ requestPolicy: 'network-only' });
      setListGeneration((g) => g + 1);
    }
  }, [live.data, refetchRun]);
  if (!id) return <Empty title="No run chosen" />;
  if (error) return <ErrorNote error={error} />;
  if (!run) return data ? <Empty title={`No run ${id}`} /> : <p className="muted">Loading…</p>;
  return (
    <section>
      <p className="muted">
        <Link prefetch={false} href="/">DAGs</Link> / <Link prefetch={false} href={`/dag?id=${encodeURIComponent(run.dagId)}`}>{run.dagId}</Link> / {run.runId}
      </p>
      <div className="row">
        <h1 style={{ margin: 0 }}>{run.runId}</h1>
        <StateBadge state={run.state} />
      </div>
      <RunActions run={run} />
      <details>
        <summary>Details</summary>
        <dl className="kv">
          <dt>Type</dt>
          <dd>{run.runType}</dd>
          <dt>Logical date</dt>
          <dd>{formatTime(run.logicalDate)}</dd>
          <dt>Data interval</dt>
          <dd>
            {formatTime(run.dataIntervalStart)} – {formatTime(run.dataIntervalEnd)}
          </dd>
          <dt>Queued</dt>
          <dd>{formatTime(run.queuedAt)}</dd>
          <dt>Started</dt>
          <dd>{formatTime(run.startedAt)}</dd>
          <dt>Ended</dt>
          <dd>{formatTime(run.endedAt)}</dd>
          <dt>Duration</dt>
          <dd>{formatDuration(run.durationMs)}</dd>
          <dt>Params</dt>
          <dd>
            <Json value={run.params} />
          </dd>
        </dl>
        <Link prefetch={false} href={`/dag?id=${encodeURIComponent(run.dagId)}&tab=code&run=${run.id}`}>Code this run used</Link>
      </details>
      <TaskInstanceList key={listGeneration} run={run} initialTask={params.get('task')} initialState={params.get('state')} />
    </section>
  );
}

function RunActions({ run }: { run: RunDetail }) {
  const auth = useAuth();
  const [, cancel] = useMutation(CANCEL_RUN);
  const [, mark] = useMutation(MARK_RUN);
  if (!auth.canAct) return null;
  return (
    <div className="row" role="group" aria-label="Run actions">
      {UNFINISHED.has(run.state) ? (
        <ConfirmButton label="Cancel run" danger title={`Cancel run ${run.runId}?`} description="Running tries are stopped and unfinished task instances are marked failed or removed." confirmLabel="Cancel run" onConfirm={async () => (await cancel({ id: run.id })).error?.message} />
      ) : null}
      <ConfirmButton label="Mark run success" title={`Mark run ${run.runId} success?`} description="Every unfinished task instance is marked success, and so is the run." onConfirm={async () => (await mark({ id: run.id, state: 'success' })).error?.message} />
      <ConfirmButton label="Mark run failed" danger title={`Mark run ${run.runId} failed?`} description="Running tries are stopped; unfinished task instances are marked failed, and so is the run." onConfirm={async () => (await mark({ id: run.id, state: 'failed' })).error?.message} />
    </div>
  );
}

function TaskInstanceList({ run, initialTask, initialState }: { run: RunDetail; initialTask: string | null; initialState: string | null }) {
  const [taskId, setTaskId] = useState(initialTask ?? '');
  const [states, setStates] = useState<TaskState[]>(initialState && TASK_STATES.includes(initialState as TaskState) ? [initialState as TaskState] : []);
  const [after, setAfter] = useState<string | null>(null);
  const router = useRouter();
  const variables = { id: run.id, first: PAGE, after, states: states.length ? states : null, taskId: taskId.trim() || null };
  const [{ data, error, fetching }] = useQuery({ query: RUN_TASK_INSTANCES, variables, requestPolicy: after ? 'cache-first' : 'cache-and-network' });
  const connection = data?.dagRun?.taskInstances;
  const rows = useMemo(() => connection?.edges.map((e) => e.node) ?? [], [connection]);
  const hasMore = connection?.pageInfo.hasNextPage ?? false;

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10 });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (hasMore && !fetching && lastIndex >= rows.length - 50) setAfter(connection?.pageInfo.endCursor ?? null);
  }, [hasMore, fetching, lastIndex, rows.length, connection]);

  // The gantt's span: from the run's start (or its first try) to its end (or now).
  const span = useMemo(() => {
    const starts = rows.map((r) => (r.startedAt ? Date.parse(r.startedAt) : Infinity));
    const from = run.startedAt ? Date.parse(run.startedAt) : Math.min(...starts);
    const ends = rows.map((r) => (r.endedAt ? Date.parse(r.endedAt) : r.startedAt ? Date.now() : 0));
    const to = run.endedAt ? Date.parse(run.endedAt) : Math.max(Date.now(), ...ends);
    return { from, to: Math.max(to, from + 1) };
  }, [rows, run.startedAt, run.endedAt]);

  return (
    <section aria-label="Task instances">
      <h2>Task instances</h2>
      <div className="toolbar">
        <label>
          Task
          <input type="search" value={taskId} placeholder="task id" onChange={(e) => (setAfter(null), setTaskId(e.target.value))} />
        </label>
        <span className="tags" role="group" aria-label="Filter by state">
          {TASK_STATES.map((s) => (
            <button key={s} className="tag" aria-pressed={states.includes(s)} onClick={() => (setAfter(null), setStates((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s])))}>
              {stateStyle(s).symbol} {stateStyle(s).label}
            </button>
          ))}
        </span>
        <span className="muted" aria-live="polite">
          {rows.length}
          {hasMore ? '+' : ''} shown
        </span>
      </div>
      <ErrorNote error={error} />
      {data && rows.length === 0 ? <Empty title="No task instance matches" /> : null}
      <div className="list-scroll" ref={scroller} role="list" data-testid="ti-list" aria-label="Task instances, with a gantt bar each">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const ti = rows[item.index]!;
            return <TaskInstanceLine key={ti.id} ti={ti} run={run} top={item.start} span={span} onOpen={() => router.push(taskHref(run.id, ti))} />;
          })}
        </div>
      </div>
      <Legend />
    </section>
  );
}

function taskHref(runId: string, ti: Pick<TaskInstanceRow, 'taskId' | 'mapIndex'>): string {
  return `/task?run=${runId}&task=${encodeURIComponent(ti.taskId)}&map=${ti.mapIndex}`;
}

function TaskInstanceLine({ ti, run, top, span, onOpen }: { ti: TaskInstanceRow; run: RunDetail; top: number; span: { from: number; to: number }; onOpen: () => void }) {
  const start = ti.startedAt ? Date.parse(ti.startedAt) : null;
  const end = ti.endedAt ? Date.parse(ti.endedAt) : start !== null ? Date.now() : null;
  const width = span.to - span.from;
  const s = stateStyle(ti.state);
  return (
    <div className="list-row ti-row" role="listitem" style={{ top, height: ROW_HEIGHT }} data-task={ti.taskId} data-map={ti.mapIndex} data-state={ti.state} onDoubleClick={onOpen}>
      <Link prefetch={false} href={taskHref(run.id, ti)}>
        {ti.taskId}
        {ti.mapIndex >= 0 ? ` [${ti.mapIndex}]` : ''}
      </Link>
      <span title={s.label}>
        <StateMark state={ti.state} size={14} /> <span className="hide-narrow">{ti.tryNumber > 1 ? `try ${ti.tryNumber}` : ''}</span>
      </span>
      <span className="wide">{s.label}</span>
      <span className="wide">{formatDuration(ti.durationMs)}</span>
      <div className="gantt wide" aria-label={`${ti.taskId}: ${formatTime(ti.startedAt)} – ${formatTime(ti.endedAt)}`}>
        {start !== null && end !== null ? <span style={{ left: `${((start - span.from) / width) * 100}%`, width: `${(Math.max(end - start, 0) / width) * 100}%`, background: s.color }} /> : null}
      </div>
    </div>
  );
}
