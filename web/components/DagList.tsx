'use client';
// The DAG list: search, tags, paused toggle, schedule, next run, the last runs as marks, and a
// banner with every import error. Kept current by the `dagsChanged` subscription.
import Link from 'next/link';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { DAGS, DAGS_CHANGED, SET_PAUSED, type DagSummary } from '../lib/queries';
import { scheduleInWords } from '../lib/schedule';
import { useAuth } from './Shell';
import { Empty, ErrorNote, formatTime, Legend, StateMark } from './ui';

export function DagList() {
  const [{ data, error, fetching }, refetch] = useQuery({ query: DAGS });
  const [search, setSearch] = useState('');
  const [tags, setTags] = useState<string[]>([]);
  const [pausedFilter, setPausedFilter] = useState<'all' | 'active' | 'paused'>('all');
  const [changed] = useSubscription({ query: DAGS_CHANGED });
  const auth = useAuth();

  // A deploy, retirement or import error changes the list's membership: read it anew.
  // (Pauses arrive as entities and update the cache by themselves.)
  // The first event (always `resync`) comes right after the list was read: skip it.
  const events = useRef(0);
  useEffect(() => {
    const event = changed.data?.dagsChanged;
    if (!event || ++events.current === 1) return;
    if (event.resync || event.importErrorsChanged || (event.dags?.length ?? 0) > 0) refetch({ requestPolicy: 'network-only' });
  }, [changed.data, refetch]);

  const dags = useMemo(() => data?.dags.edges.map((e) => e.node) ?? [], [data]);
  const allTags = useMemo(() => [...new Set(dags.flatMap((d) => d.tags))].sort(), [dags]);
  const shown = dags.filter((d) => {
    const q = search.trim().toLowerCase();
    if (q && !`${d.id} ${d.description ?? ''} ${(d.owners ?? []).join(' ')}`.toLowerCase().includes(q)) return false;
    if (tags.length > 0 && !tags.every((t) => d.tags.includes(t))) return false;
    if (pausedFilter === 'active' && d.paused) return false;
    if (pausedFilter === 'paused' && !d.paused) return false;
    return true;
  });
  const importErrors = data?.importErrors.edges.map((e) => e.node) ?? [];

  return (
    <section>
      <h1>DAGs</h1>
      {importErrors.length > 0 ? (
        <div className="banner" role="alert" aria-label="Import errors">
          <strong>{importErrors.length === 1 ? '1 DAG file failed to import' : `${importErrors.length} DAG files failed to import`}</strong>
          <ul>
            {importErrors.map((e) => (
              <li key={e.fileName}>
                <code>{e.fileName}</code>: <span className="import-message">{e.message}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="toolbar">
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="id, description or owner" />
        </label>
        <label>
          Show
          <select value={pausedFilter} onChange={(e) => setPausedFilter(e.target.value as typeof pausedFilter)}>
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="paused">paused</option>
          </select>
        </label>
        {allTags.length > 0 ? (
          <span className="tags" role="group" aria-label="Filter by tag">
            {allTags.map((t) => (
              <button key={t} className="tag" aria-pressed={tags.includes(t)} onClick={() => setTags((cur) => (cur.includes(t) ? cur.filter((x) => x !== t) : [...cur, t]))}>
                {t}
              </button>
            ))}
          </span>
        ) : null}
      </div>
      <ErrorNote error={error} />
      {fetching && !data ? <p className="muted">Loading DAGs…</p> : null}
      {data && dags.length === 0 ? (
        <Empty title="No DAGs yet">
          Put a DAG file in your DAGs folder (<code>updraft start --dags ./dags</code>) and it appears here.
        </Empty>
      ) : null}
      {dags.length > 0 && shown.length === 0 ? <Empty title="No DAG matches these filters" /> : null}
      {shown.length > 0 ? (
        <table className="dag-table">
          <thead>
            <tr>
              <th>Active</th>
              <th>DAG</th>
              <th className="hide-narrow">Schedule</th>
              <th className="hide-narrow">Next run</th>
              <th>Last runs</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => (
              <DagRow key={d.id} dag={d} canAct={auth.canAct} />
            ))}
          </tbody>
        </table>
      ) : null}
      <Legend states={['success', 'failed', 'running', 'queued']} />
    </section>
  );
}

function DagRow({ dag, canAct }: { dag: DagSummary; canAct: boolean }) {
  const [{ fetching, error }, setPaused] = useMutation(SET_PAUSED);
  const runs = dag.runs.edges.map((e) => e.node).reverse();
  return (
    <tr data-dag={dag.id}>
      <td>
        <label className="switch">
          <input
            type="checkbox"
            checked={!dag.paused}
            disabled={!canAct || fetching}
            aria-label={dag.paused ? `Unpause ${dag.id}` : `Pause ${dag.id}`}
            onChange={(e) => setPaused({ dagId: dag.id, paused: !e.target.checked })}
          />
          <span className="muted">{dag.paused ? 'paused' : 'on'}</span>
        </label>
        <ErrorNote error={error} />
      </td>
      <td>
        <Link prefetch={false} href={`/dag?id=${encodeURIComponent(dag.id)}`}>
          <strong>{dag.id}</strong>
        </Link>
        {dag.importError ? <span className="error"> import error</span> : null}
        <div className="muted">{dag.description}</div>
        <span className="tags">
          {dag.tags.map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        </span>
      </td>
      <td className="hide-narrow" title={dag.schedule ?? undefined}>
        {scheduleInWords(dag.schedule)}
      </td>
      <td className="hide-narrow">{dag.paused ? <span className="muted">paused</span> : formatTime(dag.nextRunAt)}</td>
      <td>
        {runs.length === 0 ? (
          <span className="muted">no runs yet</span>
        ) : (
          <span className="tags">
            {runs.map((r) => (
              <Link prefetch={false} key={r.id} href={`/run?id=${r.id}`} aria-label={`Run ${r.runId}: ${r.state}`}>
                <StateMark state={r.state} size={14} />
              </Link>
            ))}
          </span>
        )}
      </td>
    </tr>
  );
}
