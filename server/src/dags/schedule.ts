import { CronExpressionParser } from 'cron-parser';

/** Presets Airflow accepts besides cron expressions. `@once` runs a single time. */
const PRESETS = new Set(['@once', '@hourly', '@daily', '@weekly', '@monthly', '@quarterly', '@yearly', '@annually']);

/** Why `schedule` is not a schedule Updraft understands, or null when it is one (or absent). */
export function validateSchedule(schedule: string | null): string | null {
  if (schedule === null || PRESETS.has(schedule)) return null;
  try {
    CronExpressionParser.parse(schedule);
    return null;
  } catch (e) {
    return `"${schedule}" is not a cron expression or preset (${(e as Error).message}); use e.g. "0 6 * * *" or "@daily"`;
  }
}
