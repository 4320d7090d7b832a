import { CronExpressionParser } from 'cron-parser';
import { durationMs } from './duration.js';
import { changesNear, localToInstant, wallClock } from './timezone.js';

// A DAG's timetable (Airflow's name): which data intervals its schedule cuts time into,
// and so when its scheduled runs happen. Airflow's semantics: a run covers the interval
// [start, end), its logical date is `start`, and it is created once `end` has passed.
//
// Terminology:
// - a *tick* is an instant where an interval begins or ends (a cron time, a multiple of a
//   fixed interval);
// - *wall clock*: the local time of the DAG's timezone, kept as milliseconds as if it were
//   UTC, so that cron-parser can work on it in UTC (its own timezone support skips or
//   doubles runs at DST changes).

/** A run's data interval: from `start` (its logical date) to `end`. */
export interface DataInterval {
  start: Date;
  end: Date;
}

/** Airflow's presets as cron expressions; `@once` is a timetable of its own. */
export const PRESETS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@quarterly': '0 0 1 */3 *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** Shortest fixed interval a schedule may have ("1s" would create 86,400 runs a day; cron can too). */
const MIN_INTERVAL_MS = 1_000;

/** A cron expression, preset or fixed interval, ticking in a timezone. */
export interface Timetable {
  readonly kind: 'cron' | 'interval' | 'once';
  /** The first tick at or after `t` (`t` itself when it is a tick). */
  alignNext(t: Date): Date;
  /** The last tick at or before `t`. */
  alignPrev(t: Date): Date;
  /** The tick after tick `t`. */
  next(t: Date): Date;
  /** The tick before tick `t`. */
  prev(t: Date): Date;
}

/** Why `schedule` cannot be used, or null when it can (null and `@once` can). */
export function scheduleProblem(schedule: string | null): string | null {
  if (schedule === null || schedule === '@once') return null;
  if (schedule.length > 200) return 'is longer than 200 characters';
  if (/^\d/.test(schedule) && !schedule.includes(' ')) {
    const ms = durationMs(schedule as never);
    if (ms === undefined) return `"${schedule}" is not a fixed interval: use a number and a unit, e.g. "15m", "1h", "1d"`;
    if (ms < MIN_INTERVAL_MS) return `"${schedule}" is shorter than the shortest interval, 1s`;
    return null;
  }
  if (schedule.startsWith('@') && !(schedule in PRESETS)) {
    return `"${schedule}" is not a preset: use one of @once, ${Object.keys(PRESETS).join(', ')}`;
  }
  const expression = PRESETS[schedule] ?? schedule;
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `"${schedule}" has ${fields} fields; a cron expression has 5 (minute hour day month weekday) or 6 (with seconds first)`;
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
    return null;
  } catch (e) {
    return `"${schedule}" is not a cron expression (${(e as Error).message}); use e.g. "0 6 * * *" or "@daily"`;
  }
}

/**
 * The timetable of `schedule` in `timezone` (an IANA name; see timezone.ts). `anchor`: where
 * a fixed interval's ticks start (the DAG's startDate), default the Unix epoch. Null for an
 * unscheduled DAG. Throws on a schedule that scheduleProblem() refuses.
 */
export function timetableOf(schedule: string | null, timezone: string, anchor?: Date | null): Timetable | null {
  if (schedule === null) return null;
  const problem = scheduleProblem(schedule);
  if (problem) throw new Error(`schedule ${problem}`);
  if (schedule === '@once') return onceTimetable();
  const ms = /^\d/.test(schedule) && !schedule.includes(' ') ? durationMs(schedule as never) : undefined;
  if (ms !== undefined) return intervalTimetable(ms, anchor?.getTime() ?? 0);
  return cronTimetable(PRESETS[schedule] ?? schedule, timezone);
}

function onceTimetable(): Timetable {
  const same = (t: Date) => t;
  return { kind: 'once', alignNext: same, alignPrev: same, next: same, prev: same };
}

/** Ticks every `ms` from `anchor`, in absolute time (a DST change moves them on the wall clock). */
function intervalTimetable(ms: number, anchor: number): Timetable {
  const floor = (t: number) => anchor + Math.floor((t - anchor) / ms) * ms;
  return {
    kind: 'interval',
    alignPrev: (t) => new Date(floor(t.getTime())),
    alignNext: (t) => new Date(floor(t.getTime()) === t.getTime() ? t.getTime() : floor(t.getTime()) + ms),
    next: (t) => new Date(t.getTime() + ms),
    prev: (t) => new Date(t.getTime() - ms),
  };
}

/**
 * Cron ticks on the wall clock of `timezone`, as Airflow computes them (timetables/_cron.py):
 * - an expression that fires every hour (hour field `*`) steps in absolute time, so that
 *   it fires in both copies of the hour that repeats when clocks go back, and runs every
 *   hour across either change;
 * - any other expression fires at its wall-clock times. A time that does not exist (02:30
 *   on the day clocks go forward) fires when it would have, an hour later by the new clock
 *   (03:30); a time that exists twice (02:30 on the day clocks go back) fires once, at the
 *   second (02:30 after the change), as Airflow's make_aware does (fold=1). So a daily
 *   02:30 run is neither skipped nor doubled.
 */
function cronTimetable(expression: string, timezone: string): Timetable {
  const everyHour = CronExpressionParser.parse(expression, { tz: 'UTC' }).fields.hour.values.length === 24;
  // Parsed once; reset() moves it (parsing costs far more than stepping).
  const parsed = CronExpressionParser.parse(expression, { tz: 'UTC' });
  const cron = (wall: number) => {
    parsed.reset(new Date(wall));
    return parsed;
  };
  const next = (t: Date): Date => {
    const wall = wallClock(t, timezone);
    if (everyHour) return new Date(t.getTime() + (cron(wall).next().getTime() - wall));
    if (!changesNear(t.getTime(), timezone)) return localToInstant(cron(wall).next().getTime(), timezone);
    // Near a change, wall-clock order is not instant order: the earliest instant after `t`
    // among the cron times around its wall clock (a repeated hour is up to one hour back).
    const ticks = cron(wall - DST_WINDOW_MS);
    let best: Date | null = null;
    for (let c = ticks.next().getTime(); c <= wall + DST_WINDOW_MS || !best; c = ticks.next().getTime()) {
      const instant = localToInstant(c, timezone);
      if (instant > t && (!best || instant < best)) best = instant;
    }
    return best;
  };
  const prev = (t: Date): Date => {
    const wall = wallClock(t, timezone);
    if (everyHour) return new Date(t.getTime() - (wall - cron(wall).prev().getTime()));
    if (!changesNear(t.getTime(), timezone)) return localToInstant(cron(wall).prev().getTime(), timezone);
    const ticks = cron(wall + DST_WINDOW_MS);
    let best: Date | null = null;
    for (let c = ticks.prev().getTime(); c >= wall - DST_WINDOW_MS || !best; c = ticks.prev().getTime()) {
      const instant = localToInstant(c, timezone);
      if (instant < t && (!best || instant > best)) best = instant;
    }
    return best;
  };
  return {
    kind: 'cron',
    next,
    prev,
    alignNext: (t) => (prev(new Date(t.getTime() + 1)).getTime() === t.getTime() ? t : next(t)),
    alignPrev: (t) => prev(new Date(t.getTime() + 1)),
  };
}

/** How far around a DST change wall-clock times are compared (changes move clocks by at most 2 h). */
const DST_WINDOW_MS = 3 * 3_600_000;

/** What bounds a DAG's scheduled runs. */
export interface ScheduleBounds {
  /** No interval starts before it (the DAG's startDate). Null: none. */
  startDate: Date | null;
  /** No interval starts after it (the DAG's endDate). Null: none. */
  endDate: Date | null;
  /** Create every interval missed since the last run (or startDate); off: only the latest. */
  catchup: boolean;
}

/**
 * The interval of the DAG's next scheduled run, given the interval of its last one (null:
 * none yet), at `now`: Airflow's next_dagrun_info. With catchup, the interval after the
 * last one (or the first from startDate); without, never one older than the latest that
 * has ended by `now`. Null: no more runs (endDate passed, `@once` done, or catchup without
 * any start).
 */
export function nextInterval(timetable: Timetable, last: DataInterval | null, bounds: ScheduleBounds, now: Date): DataInterval | null {
  if (timetable.kind === 'once') {
    if (last || !bounds.startDate) return null;
    return { start: bounds.startDate, end: bounds.startDate };
  }
  let earliest = bounds.startDate ? timetable.alignNext(bounds.startDate) : null;
  if (!bounds.catchup) {
    const latest = latestEnded(timetable, now).start;
    earliest = earliest && earliest > latest ? earliest : latest;
  }
  let start: Date;
  if (last === null) {
    if (!earliest) return null;
    start = earliest;
  } else {
    const afterLast = timetable.alignPrev(last.end);
    start = earliest && earliest > afterLast ? earliest : afterLast;
  }
  if (bounds.endDate && start > bounds.endDate) return null;
  return { start, end: timetable.next(start) };
}

/** The latest interval that has ended at `now`. */
export function latestEnded(timetable: Timetable, now: Date): DataInterval {
  const end = timetable.alignPrev(now);
  return { start: timetable.prev(end), end };
}

/**
 * The data interval of a manual run asked for at `runAfter` (Airflow's
 * infer_manual_data_interval): the latest interval that has ended by then for a cron
 * schedule, the `interval` before it for a fixed one, and the instant itself otherwise.
 */
export function manualInterval(timetable: Timetable | null, runAfter: Date): DataInterval {
  if (!timetable || timetable.kind === 'once') return { start: runAfter, end: runAfter };
  if (timetable.kind === 'interval') return { start: timetable.prev(runAfter), end: runAfter };
  return latestEnded(timetable, runAfter);
}

/** Intervals whose start lies in [from, to] (Airflow's backfill range), at most `max` + 1 of them. */
export function intervalsBetween(timetable: Timetable, from: Date, to: Date, max: number): DataInterval[] {
  const intervals: DataInterval[] = [];
  if (timetable.kind === 'once') return [{ start: from, end: from }];
  for (let start = timetable.alignNext(from); start <= to && intervals.length <= max; start = timetable.next(start)) {
    intervals.push({ start, end: timetable.next(start) });
  }
  return intervals;
}
