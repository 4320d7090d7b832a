'use client';
// A DAG's page: its details and tabs for the grid, graph, runs, code and the trigger form.
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { DAG, DAG_RUNS, DAG_SOURCE, SET_PAUSED, type DagDetail } from '../lib/queries';
import { scheduleInWords } from '../lib/schedule';
import { RUN_STATES, type RunState } from '../lib/states';
import { DagRunsWatcher, Grid } from './Grid';
import { useAuth } from './Shell';
import { TriggerForm } from './TriggerForm';
import { Empty, ErrorNote, formatDuration, formatTime, StateBadge } from './ui';

// The graph's layout library (dagre) is loaded only when the graph tab opens: the grid, the
// page's first view, starts without parsing it.
const Graph = dynamic(() => import('./Graph').then((m) => m.Graph), { ssr: false, loading: () => <p className="muted">Loading the graph…</p> });

const TABS = ['grid', 'graph', 'runs', 'code', 'trigger'] as const;
type Tab = (typeof TABS)[number];

export function DagPage() {
  const params = useSearchParams();
  const id = params.get('id') ?? '';
  const tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as Tab) : 'grid';
  const [{ data, error, fetching }] = useQuery({ query: DAG, variables: { id }, pause: !id });
  const auth = useAuth();
  const [paused, setPaused] = useMutation(SET_PAUSED);
  if (!id) return <Empty title="No DAG chosen"><Link prefetch={false} href="/">Pick one from the list</Link></Empty>;
  if (error) return <ErrorNote error={error} />;
  const dag = data?.dag;
  if (!dag && !fetching) return <Empty title={`No DAG ${id}`} />;
  const href = (t: Tab) => `/dag?id=${encodeURIComponent(id)}&tab=${t}`;
  // The grid reads its own query: it starts at once, alongside the DAG's details.
  return (
    <section>
      <p className="muted">
        <Link prefetch={false} href="/">DAGs</Link> / {id}
      </p>
      <div className="row">
        <h1 style={{ margin: 0 }}>{id}</h1>
        {dag ? (
          <label>
            <input type="checkbox" checked={!dag.paused} disabled={!auth.canAct || paused.fetching} aria-label={dag.paused ? `Unpause ${dag.id}` : `Pause ${dag.id}`} onChange={(e) => setPaused({ dagId: dag.id, paused: !e.target.checked })} />
            {dag.paused ? 'paused' : 'active'}
          </label>
        ) : null}
      </div>
      <ErrorNote error={paused.error} />
      {dag ? (
        <p className="muted">
          {dag.description} · {scheduleInWords(dag.schedule)} · next run {dag.paused ? 'none (paused)' : formatTime(dag.nextRunAt)} · {dag.fileName}
        </p>
      ) : null}
      {dag?.importError ? (
        <div className="banner" role="alert">
          Import error in <code>{dag.importError.fileName}</code>: {dag.importError.message}
        </div>
      ) : null}
      <nav className="tabs" role="tablist" aria-label="DAG views">
        {TABS.filter((t) => t !== 'trigger' || auth.canAct).map((t) => (
          <Link prefetch={false} key={t} href={href(t)} role="tab" aria-selected={tab === t}>
            {t[0]!.toUpperCase() + t.slice(1)}
          </Link>
        ))}
      </nav>
      {tab === 'grid' ? <Grid dagId={id} groups={dag?.groups ?? []} /> : null}
      {!dag && tab !== 'grid' ? <p className="muted">Loading…</p> : null}
      {dag && tab === 'graph' ? <Graph dag={dag} /> : null}
      {dag && tab === 'runs' ? <RunsList dag={dag} /> : null}
      {dag && tab === 'code' ? <Code dagId={dag.id} runId={params.get('run')} /> : null}
      {dag && tab === 'trigger' ? auth.canAct ? <TriggerForm dag={dag} /> : <Empty title="Your role may not trigger runs" /> : null}
    </section>
  );
}

function RunsList({ dag }: { dag: DagDetail }) {
  const [states, setStates] = useState<RunState[]>([]);
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, error, fetching }, refetch] = useQuery({ query: DAG_RUNS, variables: { dagId: dag.id, states: states.length ? states : null, after }, requestPolicy: 'cache-and-network' });
  const runs = data?.dagRuns.edges.map((e) => e.node) ?? [];
  // A new run, or one leaving the filtered states, changes the list: re-read it (at most every 300 ms).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onRunsEvent = () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      refetch({ requestPolicy: 'network-only' });
    }, 300);
  };
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);
  return (
    <section aria-label="Runs">
      <DagRunsWatcher dagId={dag.id} onEvent={onRunsEvent} />
      <div className="toolbar" role="group" aria-label="Filter by state">
        {RUN_STATES.map((s) => (
          <button key={s} className="tag" aria-pressed={states.includes(s)} onClick={() => (setAfter(null), setStates((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s])))}>
            {s}
          </button>
        ))}
      </div>
      <ErrorNote error={error} />
      {data && runs.length === 0 ? (
        <Empty title={states.length ? 'No run in these states' : 'No runs yet — trigger one'}>
          <Link prefetch={false} href={`/dag?id=${encodeURIComponent(dag.id)}&tab=trigger`}>Trigger {dag.id}</Link>
        </Empty>
      ) : null}
      {runs.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>State</th>
              <th>Run</th>
              <th className="hide-narrow">Type</th>
              <th>Logical date</th>
              <th className="hide-narrow">Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>
                  <Link prefetch={false} href={`/run?id=${r.id}`}>{r.runId}</Link>
                </td>
                <td className="hide-narrow">{r.runType}</td>
                <td>{formatTime(r.logicalDate)}</td>
                <td className="hide-narrow">{formatTime(r.startedAt)}</td>
                <td>{formatDuration(r.durationMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="row">
        {after ? <button onClick={() => setAfter(null)}>Newest</button> : null}
        {data?.dagRuns.pageInfo.hasNextPage ? (
          <button disabled={fetching} onClick={() => setAfter(data.dagRuns.pageInfo.endCursor)}>
            Older runs
          </button>
        ) : null}
      </div>
    </section>
  );
}

function Code({ dagId, runId }: { dagId: string; runId: string | null }) {
  const [{ data, error }] = useQuery({ query: DAG_SOURCE, variables: { id: dagId, runId: runId ?? '0', withRun: runId !== null } });
  const version = data?.dagRun?.dagVersion;
  const source = version ? version.sourceCode : data?.dag?.source;
  return (
    <section aria-label="Code">
      <ErrorNote error={error} />
      <p className="muted">{version ? `The source of version ${version.versionNumber}, which run ${runId} used.` : 'The source of the latest version.'}</p>
      {source ? <pre className="json code" style={{ maxHeight: '70vh' }}>{source}</pre> : data ? <Empty title="No source stored for this version" /> : null}
    </section>
  );
}
