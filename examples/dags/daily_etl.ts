import { context, dag, task } from '@updraft/sdk';

// A daily ETL in Berlin time: each run processes one local day, its data interval (midnight
// to midnight, Europe/Berlin: 23 or 25 hours long on the days clocks change), and starts once
// that day is over. Without catchup, a DAG unpaused after a week runs for yesterday only;
// `updraft dags backfill daily_etl --from 2026-01-01 --to 2026-01-31` fills in the past.

interface Window {
  from: string;
  to: string;
  hours: number;
}

const extract = task({ id: 'extract', retries: 2, retryDelay: '10s' }, (): Window => {
  const { dataIntervalStart, dataIntervalEnd, log } = context();
  const window = {
    from: dataIntervalStart.toISOString(),
    to: dataIntervalEnd.toISOString(),
    hours: (dataIntervalEnd.getTime() - dataIntervalStart.getTime()) / 3_600_000,
  };
  // A real extract would select the rows with from <= updated_at < to.
  log.info('extracting', { ...window });
  return window;
});

const transform = task('transform', (window: Window) => ({ ...window, rows: Math.round(window.hours * 100) }));

const load = task('load', (batch: Window & { rows: number }) => {
  const { logicalDate, log } = context();
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(logicalDate);
  const line = `loaded ${batch.rows} rows for ${day} (Berlin), ${batch.from} to ${batch.to}`;
  log.info(line);
  return line;
});

export default dag(
  {
    id: 'daily_etl',
    description: 'Extract, transform and load one Berlin day per run, using the run’s data interval',
    schedule: '@daily',
    timezone: 'Europe/Berlin',
    catchup: false,
    tags: ['example'],
  },
  () => {
    load(transform(extract()));
  },
);
