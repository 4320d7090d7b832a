'use client';
// The trigger form, one field per param of the DAG's params schema (lib/params.ts); with no
// schema, a JSON conf. The server's answer (BAD_USER_INPUT naming the param) is shown as is.
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useMutation } from 'urql';
import { buildConf, initialText, paramFields } from '../lib/params';
import { TRIGGER, type DagDetail } from '../lib/queries';
import { ErrorNote } from './ui';

export function TriggerForm({ dag }: { dag: DagDetail }) {
  const fields = paramFields(dag.paramsSchema);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, initialText(f)])));
  const [confText, setConfText] = useState('{}');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, trigger] = useMutation(TRIGGER);
  const router = useRouter();

  async function submit() {
    let conf: unknown;
    if (fields.length > 0) {
      const built = buildConf(fields, texts);
      if ('errors' in built) {
        setErrors(built.errors);
        return;
      }
      conf = built.conf;
    } else {
      try {
        conf = JSON.parse(confText);
      } catch {
        setErrors({ conf: 'Must be a JSON object' });
        return;
      }
    }
    setErrors({});
    const answer = await trigger({ dagId: dag.id, conf });
    if (answer.data?.triggerDagRun.dagRun) router.push(`/dag?id=${encodeURIComponent(dag.id)}&tab=grid`);
  }

  return (
    <form
      className="card trigger-form"
      aria-label={`Trigger ${dag.id}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2>Trigger {dag.id}</h2>
      {dag.paused ? <p className="muted">This DAG is paused: the run is created but waits until it is unpaused.</p> : null}
      {fields.length === 0 ? (
        <div className="form-field">
          <label htmlFor="conf">Configuration (JSON)</label>
          <textarea id="conf" rows={6} value={confText} onChange={(e) => setConfText(e.target.value)} aria-invalid={errors.conf ? true : undefined} aria-describedby="conf-error" />
          {errors.conf ? <small id="conf-error" className="error">{errors.conf}</small> : <small>This DAG declares no params; tasks read this as <code>context().conf</code>.</small>}
        </div>
      ) : (
        fields.map((f) => {
          const id = `param-${f.name}`;
          const error = errors[f.name];
          const set = (v: string) => setTexts((t) => ({ ...t, [f.name]: v }));
          return (
            <div key={f.name} className="form-field">
              <label htmlFor={id}>
                {f.name}
                {f.required ? ' *' : ''} <small>({f.kind === 'json' ? 'JSON' : f.kind})</small>
              </label>
              {f.kind === 'boolean' ? (
                <select id={id} value={texts[f.name]} onChange={(e) => set(e.target.value)}>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : f.kind === 'enum' ? (
                <select id={id} value={texts[f.name]} onChange={(e) => set(e.target.value)}>
                  {f.required ? null : <option value="">(default)</option>}
                  {f.options.map((o) => (
                    <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
                      {String(o)}
                    </option>
                  ))}
                </select>
              ) : f.kind === 'json' ? (
                <textarea id={id} rows={3} value={texts[f.name]} onChange={(e) => set(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={`${id}-help`} />
              ) : (
                <input
                  id={id}
                  name={f.name}
                  inputMode={f.kind === 'string' ? undefined : 'decimal'}
                  value={texts[f.name]}
                  onChange={(e) => set(e.target.value)}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={`${id}-help`}
                />
              )}
              <small id={`${id}-help`} className={error ? 'error field-error' : undefined} role={error ? 'alert' : undefined}>
                {error ?? f.description ?? (f.default !== undefined ? `Default: ${JSON.stringify(f.default)}` : '')}
              </small>
            </div>
          );
        })
      )}
      <ErrorNote error={result.error} />
      <button type="submit" className="primary" disabled={result.fetching}>
        Trigger
      </button>
    </form>
  );
}
