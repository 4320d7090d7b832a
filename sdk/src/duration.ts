import type { Duration } from './interfaces.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The pattern of a Duration written as text: `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Milliseconds of a Duration (`1500`, `"30s"`); a TypeError for anything else. For operators' params. */
export function toMilliseconds(value: Duration | string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? DURATION_PATTERN.exec(value) : null;
  if (!match) throw new TypeError(`${JSON.stringify(value)} is not a duration: give milliseconds or text such as "30s", "5m", "2h"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
