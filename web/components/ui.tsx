'use client';
// Small shared pieces: state marks and their legend, confirmation dialogs, empty states, times.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { STATE_STYLES, stateStyle, type TaskState } from '../lib/states';

/** A state as a coloured square with its symbol; the label is in its title and accessible name. */
export function StateMark({ state, size = 16, children }: { state: string | null | undefined; size?: number; children?: ReactNode }) {
  const s = stateStyle(state);
  return (
    <span className="mark" data-state={state ?? 'none'} style={{ background: s.color, width: size, height: size, fontSize: size * 0.65 }} title={s.label} aria-label={s.label} role="img">
      {children ?? s.symbol}
    </span>
  );
}

/** A state with its word next to the mark. */
export function StateBadge({ state }: { state: string | null | undefined }) {
  return (
    <span className="badge" data-state={state ?? 'none'}>
      <StateMark state={state} size={14} /> {stateStyle(state).label}
    </span>
  );
}

export function Legend({ states }: { states?: TaskState[] }) {
  const shown = states ?? (Object.keys(STATE_STYLES) as TaskState[]);
  return (
    <ul className="legend" aria-label="State legend">
      {shown.map((state) => (
        <li key={state}>
          <StateMark state={state} size={12} /> {STATE_STYLES[state].label}
        </li>
      ))}
    </ul>
  );
}

/**
 * A button that asks before acting: a modal <dialog> (focus stays inside, Esc cancels) that
 * says what will happen, with the action's own options as children.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  description: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  children?: ReactNode;
  onConfirm: () => Promise<string | null | undefined | void>;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button className={props.danger ? 'danger' : undefined} onClick={() => (setError(null), dialog.current?.showModal())}>
        {props.label}
      </button>
      <dialog ref={dialog} className="dialog" aria-label={props.title}>
        <form
          method="dialog"
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            const failure = await props.onConfirm();
            setBusy(false);
            if (failure) setError(failure);
            else dialog.current?.close();
          }}
        >
          <h2>{props.title}</h2>
          <div>{props.description}</div>
          {props.children}
          {error ? <p className="error" role="alert">{error}</p> : null}
          <div className="row">
            <button type="button" onClick={() => dialog.current?.close()}>Cancel</button>
            <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={busy}>
              {props.confirmLabel ?? 'Confirm'}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function ErrorNote({ error }: { error: { message: string } | null | undefined }) {
  if (!error) return null;
  return <p className="error" role="alert">{error.message.replace(/^\[(GraphQL|Network)\] /, '')}</p>;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{value === undefined ? '—' : JSON.stringify(value, null, 2)}</pre>;
}

/** `value`, once it has not changed for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return current;
}
