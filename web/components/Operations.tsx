'use client';
// Operations pages: workers, variables, connections (passwords write-only) and the audit log.
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { AUDIT_LOG, CONNECTIONS, DELETE_CONNECTION, DELETE_VARIABLE, SET_VARIABLE, UPSERT_CONNECTION, VARIABLES, WORKERS } from '../lib/queries';
import { useAuth } from './Shell';
import { ConfirmButton, Empty, ErrorNote, formatTime, Json } from './ui';

export function Workers() {
  const [{ data, error }, refetch] = useQuery({ query: WORKERS, requestPolicy: 'cache-and-network' });
  const workers = data?.workers.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Workers</h1>
      <button onClick={() => refetch({ requestPolicy: 'network-only' })}>Refresh</button>
      <ErrorNote error={error} />
      {data && workers.length === 0 ? <Empty title="No worker has started yet">Start one with <code>updraft worker</code> (or <code>updraft start</code>, which runs one).</Empty> : null}
      {workers.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Worker</th>
              <th>Status</th>
              <th className="hide-narrow">Concurrency</th>
              <th>Running</th>
              <th className="hide-narrow">Last heartbeat</th>
              <th className="hide-narrow">Started</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id}>
                <td>
                  <code>{w.id}</code>
                  <div className="muted">
                    {w.hostname} · pid {w.pid}
                  </div>
                </td>
                <td>{w.stoppedAt ? '■ stopped' : w.alive ? '● alive' : '✕ dead (no heartbeat)'}</td>
                <td className="hide-narrow">{w.concurrency}</td>
                <td>{w.runningTryIds.length === 0 ? <span className="muted">idle</span> : `${w.runningTryIds.length} tries (${w.runningTryIds.slice(0, 5).join(', ')}${w.runningTryIds.length > 5 ? '…' : ''})`}</td>
                <td className="hide-narrow">{formatTime(w.lastHeartbeatAt)}</td>
                <td className="hide-narrow">{formatTime(w.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

export function Variables() {
  const auth = useAuth();
  const [{ data, error }, refetch] = useQuery({ query: VARIABLES, requestPolicy: 'cache-and-network' });
  const [saved, save] = useMutation(SET_VARIABLE);
  const [, remove] = useMutation(DELETE_VARIABLE);
  const [form, setForm] = useState({ key: '', value: '', isSecret: false, description: '' });
  const variables = data?.variables.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Variables</h1>
      <ErrorNote error={error} />
      {data && variables.length === 0 ? <Empty title="No variables yet">Tasks read them with <code>variable(&apos;key&apos;)</code>.</Empty> : null}
      {variables.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
              <th className="hide-narrow">Description</th>
              <th className="hide-narrow">Updated</th>
              {auth.canOperate ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {variables.map((v) => (
              <tr key={v.key}>
                <td>
                  <code>{v.key}</code>
                </td>
                <td>{v.isSecret ? <span className="muted">secret (write-only)</span> : <code>{v.value}</code>}</td>
                <td className="hide-narrow">{v.description}</td>
                <td className="hide-narrow">{formatTime(v.updatedAt)}</td>
                {auth.canOperate ? (
                  <td>
                    <ConfirmButton label="Delete" danger title={`Delete variable ${v.key}?`} description="Tasks reading it fail from now on." onConfirm={async () => {
                      const r = await remove({ key: v.key });
                      if (!r.error) refetch({ requestPolicy: 'network-only' });
                      return r.error?.message;
                    }} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {auth.canOperate ? (
        <form
          className="card"
          aria-label="Set a variable"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await save({ key: form.key, value: form.value, isSecret: form.isSecret, description: form.description || null });
            if (!r.error) {
              setForm({ key: '', value: '', isSecret: false, description: '' });
              refetch({ requestPolicy: 'network-only' });
            }
          }}
        >
          <h2>Set a variable</h2>
          <div className="row">
            <label>
              Key <input required value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} />
            </label>
            <label>
              Value <input required type={form.isSecret ? 'password' : 'text'} autoComplete="off" value={form.value} onChange={(e) => setForm({ ...form, value: e.target.value })} />
            </label>
            <label>
              <input type="checkbox" checked={form.isSecret} onChange={(e) => setForm({ ...form, isSecret: e.target.checked })} /> secret
            </label>
            <label>
              Description <input value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />
            </label>
            <button type="submit" className="primary" disabled={saved.fetching}>
              Save
            </button>
          </div>
          <ErrorNote error={saved.error} />
        </form>
      ) : null}
    </section>
  );
}

const EMPTY_CONNECTION = { id: '', type: '', host: '', port: '', login: '', password: '', schema: '', description: '' };

export function Connections() {
  const auth = useAuth();
  const [{ data, error }, refetch] = useQuery({ query: CONNECTIONS, requestPolicy: 'cache-and-network' });
  const [saved, save] = useMutation(UPSERT_CONNECTION);
  const [, remove] = useMutation(DELETE_CONNECTION);
  const [form, setForm] = useState(EMPTY_CONNECTION);
  const connections = data?.connections.edges.map((e) => e.node) ?? [];
  const field = (name: keyof typeof EMPTY_CONNECTION, label: string, type = 'text') => (
    <label>
      {label} <input type={type} autoComplete="off" required={name === 'id' || name === 'type'} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
    </label>
  );
  return (
    <section>
      <h1>Connections</h1>
      <ErrorNote error={error} />
      {data && connections.length === 0 ? <Empty title="No connections stored">Tasks may also read them from <code>UPDRAFT_CONN_&lt;ID&gt;</code> variables.</Empty> : null}
      {connections.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Type</th>
              <th>Host</th>
              <th className="hide-narrow">Login</th>
              <th>Password</th>
              {auth.canOperate ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {connections.map((c) => (
              <tr key={c.id}>
                <td>
                  <code>{c.id}</code>
                  <div className="muted">{c.description}</div>
                </td>
                <td>{c.type}</td>
                <td>
                  {c.host}
                  {c.port ? `:${c.port}` : ''}
                  {c.schema ? ` / ${c.schema}` : ''}
                </td>
                <td className="hide-narrow">{c.login}</td>
                <td>{c.hasPassword ? <span className="muted">set (write-only)</span> : <span className="muted">none</span>}</td>
                {auth.canOperate ? (
                  <td className="row">
                    <button onClick={() => setForm({ id: c.id, type: c.type, host: c.host ?? '', port: c.port ? String(c.port) : '', login: c.login ?? '', password: '', schema: c.schema ?? '', description: c.description ?? '' })}>Edit</button>
                    <ConfirmButton label="Delete" danger title={`Delete connection ${c.id}?`} description="Tasks using it fail from now on." onConfirm={async () => {
                      const r = await remove({ id: c.id });
                      if (!r.error) refetch({ requestPolicy: 'network-only' });
                      return r.error?.message;
                    }} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {auth.canOperate ? (
        <form
          className="card"
          aria-label="Save a connection"
          onSubmit={async (e) => {
            e.preventDefault();
            const port = form.port.trim() ? Number(form.port) : null;
            const r = await save({
              id: form.id,
              type: form.type,
              host: form.host || null,
              port: port !== null && Number.isFinite(port) ? port : null,
              login: form.login || null,
              // Empty keeps the stored password: it is never sent back to be shown.
              password: form.password || null,
              schema: form.schema || null,
              description: form.description || null,
            });
            if (!r.error) {
              setForm(EMPTY_CONNECTION);
              refetch({ requestPolicy: 'network-only' });
            }
          }}
        >
          <h2>Add or change a connection</h2>
          <div className="row">
            {field('id', 'Id')}
            {field('type', 'Type')}
            {field('host', 'Host')}
            {field('port', 'Port')}
            {field('login', 'Login')}
            {field('password', 'Password (write-only; empty keeps it)', 'password')}
            {field('schema', 'Schema')}
            {field('description', 'Description')}
            <button type="submit" className="primary" disabled={saved.fetching}>
              Save
            </button>
          </div>
          <ErrorNote error={saved.error} />
        </form>
      ) : null}
    </section>
  );
}

export function AuditLog() {
  const [dagId, setDagId] = useState('');
  const [action, setAction] = useState('');
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, error }] = useQuery({ query: AUDIT_LOG, variables: { after, dagId: dagId.trim() || null, action: action.trim() || null }, requestPolicy: 'cache-and-network' });
  const rows = data?.auditLog.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Audit log</h1>
      <div className="toolbar">
        <label>
          DAG <input value={dagId} onChange={(e) => (setAfter(null), setDagId(e.target.value))} />
        </label>
        <label>
          Action <input value={action} placeholder="triggerDagRun" onChange={(e) => (setAfter(null), setAction(e.target.value))} />
        </label>
      </div>
      <ErrorNote error={error} />
      {data && rows.length === 0 ? <Empty title="Nothing audited matches" /> : null}
      {rows.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Target</th>
              <th>Outcome</th>
              <th className="hide-narrow">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>{formatTime(r.at)}</td>
                <td>
                  {r.actor}
                  {r.actorName ? ` (${r.actorName})` : ''}
                  <div className="muted">{r.clientAddress}</div>
                </td>
                <td>{r.action}</td>
                <td>{r.target}</td>
                <td>{r.outcome}</td>
                <td className="hide-narrow">
                  <details>
                    <summary>JSON</summary>
                    <Json value={r.details} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="row">
        {after ? <button onClick={() => setAfter(null)}>Newest</button> : null}
        {data?.auditLog.pageInfo.hasNextPage ? <button onClick={() => setAfter(data.auditLog.pageInfo.endCursor)}>Older</button> : null}
      </div>
    </section>
  );
}
