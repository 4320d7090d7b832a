// IANA timezones through Intl (the platform's ICU data), without a date library: the
// UTC offset of a zone at an instant, an instant's wall clock, and a wall-clock time's
// instant with Airflow's rule for times that do not exist or exist twice.

const formats = new Map<string, Intl.DateTimeFormat>();

/** Why `timezone` is not an IANA timezone name, or null when it is one. */
export function timezoneProblem(timezone: string): string | null {
  // Intl also takes offsets such as "+01:00", which have no DST rules: names only.
  if (timezone.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(timezone)) {
    return `"${timezone.slice(0, 64)}" is not an IANA timezone name such as "Europe/Berlin" or "UTC"`;
  }
  try {
    format(timezone);
    return null;
  } catch {
    return `"${timezone}" is not a timezone this platform knows; use an IANA name such as "Europe/Berlin" or "UTC"`;
  }
}

function format(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timezone, f);
  }
  return f;
}

/** The wall clock of `timezone` at instant `t`, as milliseconds read as if UTC. */
export function wallClock(t: Date, timezone: string): number {
  if (timezone === 'UTC') return t.getTime();
  const parts: Record<string, number> = {};
  for (const p of format(timezone).formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const ms = ((t.getTime() % 1000) + 1000) % 1000;
  return Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!, ms);
}

/** The UTC offset of `timezone` at instant `t`, in milliseconds (+3,600,000 for CET). */
export function offsetAt(t: number, timezone: string): number {
  return wallClock(new Date(t), timezone) - t;
}

/** Whether the offset of `timezone` changes within a day of instant `t`. */
export function changesNear(t: number, timezone: string): boolean {
  return timezone !== 'UTC' && offsetAt(t - 86_400_000, timezone) !== offsetAt(t + 86_400_000, timezone);
}

/**
 * The instant a wall-clock time of `timezone` stands for. A time that exists twice (clocks
 * went back) is the second one; a time that does not exist (clocks went forward) is read
 * with the offset from before the change, i.e. moved forward by the gap (02:30 becomes
 * 03:30 when clocks jump from 02:00 to 03:00). Airflow (pendulum, fold=1) does the same.
 */
export function localToInstant(wall: number, timezone: string): Date {
  if (timezone === 'UTC') return new Date(wall);
  // Zones change their offset at most once within two days.
  const before = offsetAt(wall - 86_400_000, timezone);
  const after = offsetAt(wall + 86_400_000, timezone);
  const candidates = [wall - before, wall - after].filter((t) => offsetAt(t, timezone) === wall - t);
  if (candidates.length === 0) return new Date(wall - before);
  return new Date(Math.max(...candidates));
}
