// examples/dags/providers.ts end to end, with its peers started here: an HTTP API (node:http),
// the harness's PostgreSQL, an SMTP server (smtp-server); the shell writes into a scratch folder.
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, REPO_ROOT, TEST_SCRATCH, type TestPlatform } from './support/platform.js';
import { returnValues } from './support/tries.js';

const RATES: Record<string, number> = { EUR: 0.92, GBP: 0.79, CHF: 0.88 };

let platform: TestPlatform & { dagsDir: string };
let api: Server;
let smtp: SMTPServer;
const mails: string[] = [];
const requests: string[] = [];

beforeAll(async () => {
  api = createServer((req, res) => {
    requests.push(req.url!);
    const currency = /^\/rates\/([A-Z]{3})$/.exec(req.url!)?.[1];
    // The first request for GBP meets an overloaded API: the operator waits as told and tries again.
    if (currency === 'GBP' && requests.filter((r) => r === req.url).length === 1) {
      res.writeHead(503, { 'retry-after': '1' });
      return res.end();
    }
    if (!currency || !(currency in RATES)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ currency, rate: RATES[currency] }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c.toString()));
      stream.on('end', () => (mails.push(text), callback()));
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));

  platform = await platformRunning({ 'providers.ts': await fs.readFile(path.join(REPO_ROOT, 'examples/dags/providers.ts'), 'utf8') }, 6);
  process.env.UPDRAFT_CONN_RATES_API = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  process.env.UPDRAFT_CONN_WAREHOUSE = platform.db.url;
  process.env.UPDRAFT_CONN_SMTP_DEFAULT = JSON.stringify({ type: 'smtp', host: '127.0.0.1', port: (smtp.server.address() as AddressInfo).port, extra: { from: 'updraft@example.com' } });
});
afterAll(async () => {
  for (const name of ['UPDRAFT_CONN_RATES_API', 'UPDRAFT_CONN_WAREHOUSE', 'UPDRAFT_CONN_SMTP_DEFAULT']) delete process.env[name];
  await platform?.close();
  api?.closeAllConnections();
  await new Promise((resolve) => api?.close(resolve));
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

describe('examples/dags/providers.ts', () => {
  it('fetches (mapped, with a retried 503), stores, archives and emails, end to end', async () => {
    const archiveDir = path.join(TEST_SCRATCH, 'rates archive; touch injected');
    const runId = await platform.trigger('providers', { currencies: ['EUR', 'GBP', 'CHF'], archiveDir, to: 'finance@example.com' });
    expect(await platform.waitForRun(runId, 60_000)).toBe('success');

    const values = await returnValues(platform, runId);
    expect(values.fetch_rate).toEqual([
      { currency: 'EUR', rate: 0.92 },
      { currency: 'GBP', rate: 0.79 },
      { currency: 'CHF', rate: 0.88 },
    ]);
    expect(requests.filter((r) => r === '/rates/GBP')).toHaveLength(2);

    const { rows } = await platform.pool.query('select currency, rate::float as rate from rates order by currency');
    expect(rows).toEqual([
      { currency: 'CHF', rate: 0.88 },
      { currency: 'EUR', rate: 0.92 },
      { currency: 'GBP', rate: 0.79 },
    ]);

    const file = values.archive as string;
    expect(path.dirname(file)).toBe(archiveDir);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(values.fetch_rate);
    await expect(fs.stat(path.join(process.cwd(), 'injected'))).rejects.toThrow();

    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain('To: finance@example.com');
    expect(mails[0]).toMatch(/Subject: Exchange rates for \d{4}-\d\d-\d\d/);
    expect(mails[0]).toContain('GBP: 0.79');
    expect(values.notify).toMatchObject({ accepted: ['finance@example.com'] });
  });
});
