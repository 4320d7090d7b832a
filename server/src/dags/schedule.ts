import { CronExpressionParser } from 'cron-parser';

/** Airflow's presets as cron expressions; `@once` is handled apart (a single run). */
const PRESETS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@quarterly': '0 0 1 */3 *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** Why `schedule` is not a schedule Updraft understands, or null when it is one (or absent). */
export function validateSchedule(schedule: string | null): string | null {
  if (schedule === null || schedule === '@once') return null;
  try {
    CronExpressionParser.parse(PRESETS[schedule] ?? schedule, { tz: 'UTC' });
    return null;
  } catch (e) {
    return `"${schedule}" is not a cron expression or preset (${(e as Error).message}); use e.g. "0 6 * * *" or "@daily"`;
  }
}

/** The latest time at or before `now` when `schedule` fires (UTC), or null for `@once`. */
export function latestTick(schedule: string, now: Date): Date | null {
  if (schedule === '@once') return null;
  const ticks = CronExpressionParser.parse(PRESETS[schedule] ?? schedule, { tz: 'UTC', currentDate: new Date(now.getTime() + 1) });
  return ticks.prev().toDate();
}

/** The first time after `now` when `schedule` fires (UTC), or null for `@once`. */
export function nextTick(schedule: string, now: Date): Date | null {
  if (schedule === '@once') return null;
  return CronExpressionParser.parse(PRESETS[schedule] ?? schedule, { tz: 'UTC', currentDate: now }).next().toDate();
}
