// A DAG's schedule in words for the common cron shapes; anything else is shown as written.

const PRESETS: Record<string, string> = {
  '@once': 'once',
  '@hourly': 'every hour',
  '@daily': 'every day at midnight',
  '@midnight': 'every day at midnight',
  '@weekly': 'every Sunday at midnight',
  '@monthly': 'on the 1st of every month at midnight',
  '@yearly': 'every 1 January at midnight',
  '@annually': 'every 1 January at midnight',
  '@continuous': 'continuously',
};

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const num = (s: string) => /^\d+$/.test(s);
const pad = (s: string) => s.padStart(2, '0');

export function scheduleInWords(schedule: string | null | undefined): string {
  if (!schedule) return 'manual only';
  const preset = PRESETS[schedule.trim()];
  if (preset) return preset;
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) return schedule;
  const [min, hour, dom, mon, dow] = parts as [string, string, string, string, string];
  const step = /^\*\/(\d+)$/;
  if (mon !== '*') return schedule;
  if (hour === '*' && dom === '*' && dow === '*') {
    if (min === '*') return 'every minute';
    const m = step.exec(min);
    if (m) return `every ${m[1]} minutes`;
    if (num(min)) return `every hour at minute ${min}`;
  }
  if (num(min) && num(hour)) {
    const at = `at ${pad(hour)}:${pad(min)}`;
    if (dom === '*' && dow === '*') return `every day ${at}`;
    if (dom === '*' && num(dow) && Number(dow) < 7) return `every ${DAYS[Number(dow)]} ${at}`;
    if (dom === '*' && dow === '1-5') return `every weekday ${at}`;
    if (num(dom) && dow === '*') return `on day ${dom} of every month ${at}`;
  }
  if (num(min) && step.test(hour) && dom === '*' && dow === '*') return `every ${step.exec(hour)![1]} hours at minute ${min}`;
  return schedule;
}
