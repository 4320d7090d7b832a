import { context, dag, params, task, type XComArg } from '@updraft/sdk';
import { sendEmail } from '@updraft/plugin-email';
import { httpRequest } from '@updraft/plugin-http';
import { shell } from '@updraft/plugin-shell';
import { sqlQuery } from '@updraft/plugin-sql';
import { z } from 'zod';

// Provider operators in one pipeline: fetch exchange rates over HTTP (one mapped request per
// currency), store them in PostgreSQL, archive them with a shell command, and email a summary.
// It needs three connections: `rates_api` (http), `warehouse` (postgres) and `smtp_default`
// (smtp), stored with upsertConnection or given to the workers as UPDRAFT_CONN_<ID> URIs.

const Params = z.object({
  currencies: z.array(z.string().regex(/^[A-Z]{3}$/)).default(['EUR', 'GBP', 'JPY']),
  archiveDir: z.string().default('/tmp/updraft-rates'),
  to: z.email().default('ops@example.com'),
});
type Params = z.infer<typeof Params>;

interface Rate {
  currency: string;
  rate: number;
}

/** One request per currency: the list that `fetchRate.map()` fans out over. */
const rateRequests = task('rate_requests', () =>
  params<Params>().currencies.map((currency) => ({ connection: 'rates_api', url: `/rates/${currency}`, expectStatus: 200 })),
);
const fetchRate = httpRequest({ id: 'fetch_rate', retries: 2, retryDelay: '10s' });

/** The SQL statement storing them, values as parameters (never spliced into the SQL text). */
const insertRates = task('insert_rates', (rates: Rate[]) => ({
  connection: 'warehouse',
  sql: `insert into rates (day, currency, rate)
        select $1::date, c, r from unnest($2::text[], $3::numeric[]) as t(c, r)
        on conflict (day, currency) do update set rate = excluded.rate
        returning currency, rate::float as rate`,
  parameters: [context().logicalDate.toISOString().slice(0, 10), rates.map((r) => r.currency), rates.map((r) => r.rate)],
}));
const createTable = sqlQuery('create_table');
const storeRates = sqlQuery('store_rates');

/** The archive command: the rates go through the environment, the folder as an argument; neither is shell code. */
const archiveCommand = task('archive_command', (rates: Rate[]) => ({
  command: 'mkdir -p "$1" && printf "%s\\n" "$RATES" > "$1/rates-{{ ds }}.json" && echo "$1/rates-{{ ds }}.json"',
  args: ['{{ params.archiveDir }}'],
  env: { RATES: JSON.stringify(rates) },
  timeout: '1m',
}));
const archive = shell('archive');

const summary = task('summary', (stored: Rate[], file: string) => ({
  connection: 'smtp_default',
  to: params<Params>().to,
  subject: `Exchange rates for ${context().logicalDate.toISOString().slice(0, 10)}`,
  text: `${stored.map((r) => `${r.currency}: ${r.rate}`).join('\n')}\n\nArchived in ${file}.`,
}));
const notify = sendEmail({ id: 'notify', retries: 1 });

export default dag({ id: 'providers', description: 'Provider operators: HTTP, SQL, shell and email', params: Params, tags: ['example', 'providers'] }, () => {
  // The HTTP operator publishes the response body, whose type only the API knows: say it here.
  const rates = fetchRate.map(rateRequests()) as XComArg<Rate[]>;
  const table = createTable({
    connection: 'warehouse',
    sql: 'create table if not exists rates (day date not null, currency text not null, rate numeric not null, primary key (day, currency))',
    output: 'none',
  });
  const stored = storeRates(insertRates(rates)).after(table) as XComArg<Rate[]>;
  const file = archive(archiveCommand(rates));
  notify(summary(stored, file));
});

