'use client';
// A task instance: details, tries with their errors, logs (the tail, then live lines while a
// try runs, searchable), XCom values, and the operator's actions with confirmation.
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useClient, useMutation, useQuery, useSubscription, type CombinedError } from 'urql';
import { CLEAR, DAG_RUN_UPDATED, MARK_TASKS, TASK_INSTANCE, TASK_LOG_LINES, TRY_LOG_EARLIER, TRY_LOG_TAIL, type LogLine, type TaskInstanceDetail } from '../lib/queries';
import { UNFINISHED } from '../lib/states';
import { useAuth } from './Shell';
import { ConfirmButton, Empty, ErrorNote, formatDuration, formatTime, Json, StateBadge } from './ui';

const TAIL = 1000;

export function TaskPage() {
  const params = useSearchParams();
  const runId = params.get('run') ?? '';
  const taskId = params.get('task') ?? '';
  const mapIndex = Number(params.get('map') ?? '-1');
  const variables = { runId, taskId, mapIndex: Number.isInteger(mapIndex) ? mapIndex : -1 };
  const [{ data, error }, refetch] = useQuery({ query: TASK_INSTANCE, variables, pause: !runId || !taskId, requestPolicy: 'cache-and-network' });
  const run = data?.dagRun;
  const ti = run?.taskInstance;
  // Follow the run, finished or not (a clear brings it back): a change of this instance re-reads it (tries, XComs).
  const [live] = useSubscription({ query: DAG_RUN_UPDATED, variables: { id: runId }, pause: !runId });
  useEffect(() => {
    const event = live.data?.dagRunUpdated;
    if (event && (event.resync || event.taskInstances?.some((t) => t.id === ti?.id))) refetch({ requestPolicy: 'network-only' });
  }, [live.data, ti?.id, refetch]);

  if (!runId || !taskId) return <Empty title="No task instance chosen" />;
  if (error) return <ErrorNote error={error} />;
  if (!run || !ti) return data ? <Empty title={`No task instance ${taskId}${mapIndex >= 0 ? `[${mapIndex}]` : ''} in run ${runId}`} /> : <p className="muted">Loading…</p>;
  const name = `${ti.taskId}${ti.mapIndex >= 0 ? ` [${ti.mapIndex}]` : ''}`;
  return (
    <section>
      <p className="muted">
        <Link prefetch={false} href="/">DAGs</Link> / <Link prefetch={false} href={`/dag?id=${encodeURIComponent(run.dagId)}`}>{run.dagId}</Link> / <Link prefetch={false} href={`/run?id=${run.id}`}>{run.runId}</Link> / {name}
      </p>
      <div className="row">
        <h1 style={{ margin: 0 }}>{name}</h1>
        <StateBadge state={ti.state} />
      </div>
      <TaskActions runId={run.id} ti={ti} />
      <dl className="kv card">
        <dt>Try</dt>
        <dd>
          {ti.tryNumber} of {ti.maxTries}
        </dd>
        <dt>Queued</dt>
        <dd>{formatTime(ti.queuedAt)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(ti.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(ti.endedAt)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(ti.durationMs)}</dd>
        {ti.nextTryAt ? (
          <>
            <dt>Next try</dt>
            <dd>{formatTime(ti.nextTryAt)}</dd>
          </>
        ) : null}
        {ti.mapIndex >= 0 ? (
          <>
            <dt>Map item</dt>
            <dd>
              <Json value={ti.mapItem} />
            </dd>
          </>
        ) : null}
      </dl>
      <Tries ti={ti} />
      {/* Read anew when a new try starts or the instance changes state. */}
      <Logs key={`${ti.tryNumber}:${ti.state}`} runId={run.id} ti={ti} />
      <section aria-label="XCom">
        <h2>XCom</h2>
        {(ti.xcoms ?? []).length === 0 ? (
          <Empty title="No XCom values" />
        ) : (
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Value</th>
                <th className="hide-narrow">Size</th>
              </tr>
            </thead>
            <tbody>
              {(ti.xcoms ?? []).map((x) => (
                <tr key={x.key}>
                  <td>
                    <code>{x.key}</code>
                  </td>
                  <td>
                    <Json value={x.value} />
                  </td>
                  <td className="hide-narrow">{x.sizeBytes} B</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  );
}

function Tries({ ti }: { ti: TaskInstanceDetail }) {
  const tries = ti.tries ?? [];
  return (
    <section aria-label="Tries">
      <h2>Tries</h2>
      {tries.length === 0 ? <Empty title="Not tried yet" /> : null}
      {tries.map((t) => (
        <details key={t.id} className="card try" open={t.errorMessage !== null && t.tryNumber === ti.tryNumber}>
          <summary>
            Try {t.tryNumber} · <StateBadge state={t.state} /> · {formatTime(t.startedAt)} · {formatDuration(t.durationMs)}
            {t.workerId ? <span className="muted"> · worker {t.workerId}</span> : null}
          </summary>
          {t.errorMessage ? (
            <p className="error try-error">
              <strong>{t.errorName ?? 'Error'}</strong>: {t.errorMessage}
            </p>
          ) : null}
          {t.error ? <Json value={t.error} /> : null}
        </details>
      ))}
    </section>
  );
}

function Logs({ runId, ti }: { runId: string; ti: TaskInstanceDetail }) {
  const tries = ti.tries ?? [];
  const [chosen, setChosen] = useState<string | null>(null);
  const latest = tries.at(-1)?.id ?? null;
  const tryId = chosen ?? latest;
  const [{ data, error }] = useQuery({ query: TRY_LOG_TAIL, variables: { runId, taskId: ti.taskId, mapIndex: ti.mapIndex, last: TAIL }, requestPolicy: 'network-only' });
  const [liveLines, setLiveLines] = useState<Record<string, LogLine[]>>({});
  const [search, setSearch] = useState('');
  const box = useRef<HTMLDivElement>(null);
  const stored = data?.dagRun?.taskInstance?.tries?.find((t) => t.id === tryId);
  const storedLines = useMemo(() => stored?.logs.edges.map((e) => e.node) ?? [], [stored]);

  // "Load earlier": pages of TAIL lines before the first one shown, per try, read on demand.
  const client = useClient();
  const [earlier, setEarlier] = useState<Record<string, { lines: LogLine[]; hasPrevious: boolean; cursor: string | null }>>({});
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [earlierError, setEarlierError] = useState<CombinedError | undefined>();
  const older = tryId ? earlier[tryId] : undefined;
  const hasEarlier = older ? older.hasPrevious : (stored?.logs.pageInfo.hasPreviousPage ?? false);
  const keepFromBottom = useRef<number | null>(null);
  const loadEarlier = async () => {
    const cursor = older ? older.cursor : (stored?.logs.pageInfo.startCursor ?? null);
    const tryNumber = tries.find((t) => t.id === tryId)?.tryNumber;
    if (!tryId || !cursor || tryNumber === undefined) return;
    setLoadingEarlier(true);
    const result = await client
      .query(TRY_LOG_EARLIER, { runId, taskId: ti.taskId, mapIndex: ti.mapIndex, tryNumber, last: TAIL, before: cursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoadingEarlier(false);
    setEarlierError(result.error);
    const page = result.data?.dagRun?.taskInstance?.tries?.[0]?.logs;
    if (!page) return;
    // Keep the lines in view where they are while earlier ones are added above them.
    atBottom.current = false;
    if (box.current) keepFromBottom.current = box.current.scrollHeight - box.current.scrollTop;
    setEarlier((all) => ({
      ...all,
      [tryId]: { lines: [...page.edges.map((e) => e.node), ...(all[tryId]?.lines ?? [])], hasPrevious: page.pageInfo.hasPreviousPage, cursor: page.pageInfo.startCursor },
    }));
  };
  const lastStoredSeq = storedLines.at(-1)?.seq ?? -1;

  // While the instance is unfinished, its latest try's new lines arrive over SSE.
  const following = UNFINISHED.has(ti.state) && data !== undefined && (tryId === latest || latest === null);
  const [live] = useSubscription({ query: TASK_LOG_LINES, variables: { taskInstanceId: ti.id, afterSeq: lastStoredSeq }, pause: !following });
  useEffect(() => {
    const event = live.data?.taskLogLines;
    if (!event?.try || !event.lines?.length) return;
    const id = event.try.id;
    setLiveLines((all) => {
      const have = all[id] ?? [];
      const last = have.at(-1)?.seq ?? -1;
      return { ...all, [id]: [...have, ...event.lines!.filter((l) => l.seq > last)] };
    });
  }, [live.data]);

  const lines = useMemo(() => {
    const extra = (tryId ? liveLines[tryId] : undefined) ?? [];
    return [...(older?.lines ?? []), ...storedLines, ...extra.filter((l) => l.seq > lastStoredSeq)];
  }, [older, storedLines, liveLines, tryId, lastStoredSeq]);
  const needle = search.trim().toLowerCase();
  const shown = needle ? lines.filter((l) => l.message.toLowerCase().includes(needle)) : lines;

  // Stay at the bottom while new lines come, unless the reader scrolled up.
  const atBottom = useRef(true);
  useEffect(() => {
    if (box.current && atBottom.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown.length]);
  useLayoutEffect(() => {
    if (box.current && keepFromBottom.current !== null) {
      box.current.scrollTop = box.current.scrollHeight - keepFromBottom.current;
      keepFromBottom.current = null;
    }
  }, [older]);

  return (
    <section aria-label="Logs">
      <h2>Logs</h2>
      <div className="toolbar">
        {tries.length > 1 ? (
          <label>
            Try
            <select value={tryId ?? ''} onChange={(e) => setChosen(e.target.value)}>
              {tries.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.tryNumber} ({t.state})
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="text in the lines" aria-label="Search the log" />
        </label>
        <span className="muted" aria-live="polite">
          {needle ? `${shown.length} of ${lines.length} lines match` : `${lines.length} lines`}
          {hasEarlier ? ` (from line ${lines[0]?.seq ?? 0}; earlier ones not loaded)` : ''}
          {following ? ' · live' : ''}
        </span>
      </div>
      <ErrorNote error={error ?? earlierError ?? live.error} />
      {tries.length === 0 ? (
        <Empty title="No log yet: the task has not started" />
      ) : (
        <div className="log" ref={box} tabIndex={0} aria-label="Log lines" onScroll={(e) => (atBottom.current = e.currentTarget.scrollTop + e.currentTarget.clientHeight >= e.currentTarget.scrollHeight - 8)}>
          {hasEarlier ? (
            <button className="load-earlier" onClick={() => void loadEarlier()} disabled={loadingEarlier}>
              {loadingEarlier ? 'Loading…' : `Load earlier lines (before line ${lines[0]?.seq ?? 0})`}
            </button>
          ) : null}
          {shown.length === 0 ? <span className="muted">{needle ? 'No line matches' : 'No lines'}</span> : null}
          {shown.map((l) => (
            <div key={l.seq} className="line" data-level={l.level}>
              <span className="muted">{l.loggedAt.slice(11, 23)} </span>
              <span>{l.level.toUpperCase().padEnd(5)} </span>
              <Highlight text={l.message} needle={needle} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function Highlight({ text, needle }: { text: string; needle: string }) {
  if (!needle) return <span className="message">{text}</span>;
  const at = text.toLowerCase().indexOf(needle);
  if (at < 0) return <span className="message">{text}</span>;
  return (
    <span className="message">
      {text.slice(0, at)}
      <mark>{text.slice(at, at + needle.length)}</mark>
      {text.slice(at + needle.length)}
    </span>
  );
}

function TaskActions({ runId, ti }: { runId: string; ti: TaskInstanceDetail }) {
  const auth = useAuth();
  const [, clear] = useMutation(CLEAR);
  const [, mark] = useMutation(MARK_TASKS);
  const [options, setOptions] = useState({ downstream: false, upstream: false, onlyFailed: false });
  const [markOptions, setMarkOptions] = useState({ downstream: false, upstream: false });
  if (!auth.canAct) return null;
  const target = { dagRunId: runId, taskIds: [ti.taskId], mapIndexes: ti.mapIndex >= 0 ? [ti.mapIndex] : null };
  const box = (label: string, checked: boolean, onChange: (v: boolean) => void) => (
    <label style={{ display: 'flex' }}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
  const markDialog = (state: 'success' | 'failed') => (
    <ConfirmButton
      label={`Mark ${state}`}
      danger={state === 'failed'}
      title={`Mark ${ti.taskId} ${state}?`}
      description={`The instance is set to ${state}${state === 'failed' ? ' (a running try is stopped)' : ''}; the run goes on from there.`}
      onConfirm={async () => (await mark({ ...target, state, ...markOptions })).error?.message}
    >
      {box('and its downstream tasks', markOptions.downstream, (v) => setMarkOptions((o) => ({ ...o, downstream: v })))}
      {box('and its upstream tasks', markOptions.upstream, (v) => setMarkOptions((o) => ({ ...o, upstream: v })))}
    </ConfirmButton>
  );
  return (
    <div className="row" role="group" aria-label="Task actions">
      <ConfirmButton
        label="Clear"
        title={`Clear ${ti.taskId}?`}
        description="The instance runs again from a new try (the run, if it ended, runs again too)."
        confirmLabel="Clear"
        onConfirm={async () => (await clear({ ...target, ...options })).error?.message}
      >
        {box('with downstream tasks', options.downstream, (v) => setOptions((o) => ({ ...o, downstream: v })))}
        {box('with upstream tasks', options.upstream, (v) => setOptions((o) => ({ ...o, upstream: v })))}
        {box('only failed ones', options.onlyFailed, (v) => setOptions((o) => ({ ...o, onlyFailed: v })))}
      </ConfirmButton>
      {markDialog('success')}
      {markDialog('failed')}
    </div>
  );
}
