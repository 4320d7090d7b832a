import type { Duration } from '@updraft/sdk';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a Duration (`1500`, `"30s"`, `"5m"`); undefined when the text is not one. */
export function durationMs(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Megabytes of a MemorySize (`512`, `"512MB"`, `"2GB"`); undefined when it is not one. */
export function memoryMb(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(MB|GB)$/.exec(value);
  if (!match) return undefined;
  const mb = Number(match[1]) * (match[2] === 'GB' ? 1024 : 1);
  return mb > 0 ? mb : undefined;
}

/** A size in bytes: "5242880", "64KB", "5MB", "1GB" (units of 1024). */
export function byteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(match[2] ?? 'B').toUpperCase() as 'B'];
  return Math.round(Number(match[1]) * unit);
}
