// The one place where states get their colours, symbols and words. A state is never shown by
// colour alone: every mark also carries its symbol and a text label (title / aria-label).

export type TaskState =
  | 'none'
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'success'
  | 'failed'
  | 'up_for_retry'
  | 'up_for_reschedule'
  | 'upstream_failed'
  | 'skipped'
  | 'removed';
export type RunState = 'queued' | 'running' | 'success' | 'failed';
export type AnyState = TaskState | RunState;

interface StateStyle {
  /** CSS colour (a custom property, so that themes may adjust it). */
  color: string;
  /** A symbol drawn inside the mark, so that state reads without colour. */
  symbol: string;
  label: string;
}

export const STATE_STYLES: Record<TaskState, StateStyle> = {
  success: { color: 'var(--state-success)', symbol: '✓', label: 'success' },
  failed: { color: 'var(--state-failed)', symbol: '✕', label: 'failed' },
  running: { color: 'var(--state-running)', symbol: '▶', label: 'running' },
  queued: { color: 'var(--state-queued)', symbol: '…', label: 'queued' },
  scheduled: { color: 'var(--state-scheduled)', symbol: '◷', label: 'scheduled' },
  up_for_retry: { color: 'var(--state-retry)', symbol: '↻', label: 'up for retry' },
  up_for_reschedule: { color: 'var(--state-reschedule)', symbol: '⧗', label: 'up for reschedule' },
  upstream_failed: { color: 'var(--state-upstream-failed)', symbol: '⚠', label: 'upstream failed' },
  skipped: { color: 'var(--state-skipped)', symbol: '↷', label: 'skipped' },
  removed: { color: 'var(--state-removed)', symbol: '−', label: 'removed' },
  none: { color: 'var(--state-none)', symbol: '·', label: 'no status' },
};

export function stateStyle(state: string | null | undefined): StateStyle {
  return STATE_STYLES[(state ?? 'none') as TaskState] ?? STATE_STYLES.none;
}

/** States a task instance or run is still moving through. */
export const UNFINISHED = new Set<string>(['none', 'scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule']);

export const TASK_STATES = Object.keys(STATE_STYLES) as TaskState[];
export const RUN_STATES: RunState[] = ['queued', 'running', 'success', 'failed'];
