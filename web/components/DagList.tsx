'use client';
// The DAG list: search, tags, paused toggle, schedule, next run, the last runs as marks, and a
// banner with every import error. Filters run on the server and DAGs come DAG_PAGE_SIZE at a
// time ("Show more"), so a deployment of thousands of DAGs opens as fast as one of ten. Kept
// current by the `dagsChanged` subscription.
import Link from 'next/link';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { DAG_PAGE_SIZE, DAGS, DAGS_CHANGED, SET_PAUSED, type DagSummary } from '../lib/queries';
import { scheduleInWords } from '../lib/schedule';
import { useAuth } from './Shell';
import { Empty, ErrorNote, formatTime, Legend, StateMark } from './ui';

const SEARCH_DELAY_MS = 250;

export function DagList() {
  const [search, setSearch] = useState('');
  const [searched, setSearched] = useState('');
  const [tags, setTags] = useState<string[]>([]);
  const [pausedFilter, setPausedFilter] = useState<'all' | 'active' | 'paused'>('all');
  const [after, setAfter] = useState<string | null>(null);
  // New filters start from the first page.
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearched(search.trim());
      setAfter(null);
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);
  const variables = useMemo(
    () => ({
      first: DAG_PAGE_SIZE,
      after,
      search: searched || null,
      tags: tags.length > 0 ? tags : null,
      paused: pausedFilter === 'all' ? null : pausedFilter === 'paused',
    }),
    [after, searched, tags, pausedFilter],
  );
  // Bumped when the list's membership changed: the pages are read again from the server.
  const [refresh, setRefresh] = useState(0);
  const context = useMemo(() => ({ requestPolicy: refresh > 0 ? ('network-only' as const) : ('cache-first' as const), refresh }), [refresh]);
  const [{ data, error, fetching }] = useQuery({ query: DAGS, variables, context });
  const [changed] = useSubscription({ query: DAGS_CHANGED });
  const auth = useAuth();

  // A deploy, retirement or import error changes the list's membership: read it anew from the
  // first page. (Pauses arrive as entities and update the cache by themselves.)
  // The first event (always `resync`) comes right after the list was read: skip it.
  const events = useRef(0);
  useEffect(() => {
    const event = changed.data?.dagsChanged;
    if (!event || ++events.current === 1) return;
    if (event.resync || event.importErrorsChanged || (event.dags?.length ?? 0) > 0) {
      setAfter(null);
      setRefresh((n) => n + 1);
    }
  }, [changed.data]);

  const dags = useMemo(() => data?.dags.edges.map((e) => e.node) ?? [], [data]);
  const more = data?.dags.pageInfo.hasNextPage ? data.dags.pageInfo.endCursor : null;
  const allTags = data?.dagTags ?? [];
  const filtered = searched !== '' || tags.length > 0 || pausedFilter !== 'all';
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
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="id, description or tag" />
        </label>
        <label>
          Show
          <select value={pausedFilter} onChange={(e) => {
              setPausedFilter(e.target.value as typeof pausedFilter);
              setAfter(null);
            }}>
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="paused">paused</option>
          </select>
        </label>
        {allTags.length > 0 ? (
          <span className="tags" role="group" aria-label="Filter by tag (any of those pressed)">
            {allTags.map((t) => (
              <button key={t} className="tag" aria-pressed={tags.includes(t)} onClick={() => {
                  setTags((cur) => (cur.includes(t) ? cur.filter((x) => x !== t) : [...cur, t]));
                  setAfter(null);
                }}>
                {t}
              </button>
            ))}
          </span>
        ) : null}
      </div>
      <ErrorNote error={error} />
      {fetching && !data ? <p className="muted">Loading DAGs…</p> : null}
      {data && dags.length === 0 && !filtered ? (
        <Empty title="No DAGs yet">
          Put a DAG file in your DAGs folder (<code>updraft start --dags ./dags</code>) and it appears here.
        </Empty>
      ) : null}
      {data && dags.length === 0 && filtered ? <Empty title="No DAG matches these filters" /> : null}
      {dags.length > 0 ? (
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
            {dags.map((d) => (
              <DagRow key={d.id} dag={d} canAct={auth.canAct} />
            ))}
          </tbody>
        </table>
      ) : null}
      {dags.length > 0 ? (
        <p className="muted" aria-live="polite">
          {more ? `The first ${dags.length} DAGs by id` : dags.length === 1 ? '1 DAG' : `${dags.length} DAGs`}
          {fetching ? ' (loading…)' : ''}{' '}
          {more ? (
            <button disabled={fetching} onClick={() => setAfter(more)}>
              Show {DAG_PAGE_SIZE} more
            </button>
          ) : null}
        </p>
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
