// The email operator against an SMTP server started here (smtp-server): the message arrives
// with its sender, recipients, subject, body and attachment after AUTH; a server that never
// greets times out; a subject carrying a header injection is refused at deploy.
import fs from 'node:fs/promises';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformRunning, type TestPlatform } from '../../../test/support/platform.js';
import { returnValues, storedTries } from '../../../test/support/tries.js';

const PASSWORD = 'smtp-Pass-word-4242';

const DAGS = {
  'email_dags.ts': `
import { context, dag, task } from '@updraft/sdk';
import { sendEmail } from '@updraft/plugin-email';

const report = task('report', () => 'region,total\\neu,' + String(context().conf.total));
const message = task('message', (csv: string) => ({
  connection: 'mail',
  to: ['ops@example.com', 'data@example.com'],
  bcc: 'audit@example.com',
  subject: 'Daily report ' + String(context().conf.day),
  text: 'Totals attached.',
  html: '<p>Totals attached.</p>',
  attachments: [{ filename: 'report.csv', content: csv, contentType: 'text/csv' }],
}));

export const mail = dag({ id: 'mail' }, () => {
  sendEmail('send')(message(report()));
});

export const silent = dag({ id: 'silent_smtp' }, () => {
  sendEmail({ id: 'send', retries: 0 })({ connection: 'silent_mail', from: 'updraft@example.com', to: 'ops@example.com', subject: 'hello', text: 'hi', timeout: '1s' });
});
`,
};

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

let platform: TestPlatform & { dagsDir: string };
let smtp: SMTPServer;
let silent: TcpServer;
const sockets = new Set<Socket>();
const received: Received[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === PASSWORD) return callback(null, { user: auth.username });
      return callback(new Error('bad login'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  // A peer that accepts connections and never says a word.
  silent = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as AddressInfo).port;
  process.env.UPDRAFT_CONN_MAIL = JSON.stringify({ type: 'smtp', host: '127.0.0.1', port: smtpPort, login: 'mailer', password: PASSWORD, extra: { from: 'Updraft <updraft@example.com>' } });
  process.env.UPDRAFT_CONN_SILENT_MAIL = `smtp://127.0.0.1:${silentPort}`;
  platform = await platformRunning(DAGS, 4);
});
afterAll(async () => {
  delete process.env.UPDRAFT_CONN_MAIL;
  delete process.env.UPDRAFT_CONN_SILENT_MAIL;
  await platform?.close();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

describe('@updraft/plugin-email', () => {
  it('sends the message over SMTP with AUTH: sender, recipients (bcc in the envelope only), subject, bodies, attachment', async () => {
    const runId = await platform.trigger('mail', { day: '2026-12-01', total: 1234 });
    expect(await platform.waitForRun(runId, 20_000)).toBe('success');
    expect(received).toHaveLength(1);
    const [message] = received;
    expect(message!.user).toBe('mailer');
    expect(message!.from).toBe('updraft@example.com');
    expect(message!.to).toEqual(['ops@example.com', 'data@example.com', 'audit@example.com']);
    const headers = message!.raw.slice(0, message!.raw.indexOf('\r\n\r\n'));
    expect(headers).toContain('Subject: Daily report 2026-12-01');
    expect(headers).toContain('To: ops@example.com, data@example.com');
    expect(headers).not.toContain('audit@example.com');
    expect(headers).toMatch(/X-Updraft-Task: mail\/manual__[^/]+\/send/);
    expect(message!.raw).toContain('Totals attached.');
    expect(message!.raw).toContain('<p>Totals attached.</p>');
    expect(message!.raw).toMatch(/filename=report\.csv/);
    expect(message!.raw).toContain(Buffer.from('region,total\neu,1234').toString('base64'));

    const values = await returnValues(platform, runId);
    expect(values.send).toMatchObject({ accepted: ['ops@example.com', 'data@example.com', 'audit@example.com'], rejected: [] });
    const [sent] = await storedTries(platform, runId, 'send');
    expect(JSON.stringify(sent)).not.toContain(PASSWORD);
  });

  it('gives up on a server that never greets, within the timeout', async () => {
    const started = Date.now();
    const runId = await platform.trigger('silent_smtp');
    expect(await platform.waitForRun(runId, 20_000)).toBe('failed');
    expect(Date.now() - started).toBeLessThan(8_000);
    const [t] = await storedTries(platform, runId, 'send');
    expect(t!.error).toMatchObject({ name: 'EmailNotSent' });
    expect(t!.error!.message).toMatch(/^task "send": 127\.0\.0\.1:\d+ did not take the message: .*(Greeting|timeout)/i);
  });

  it('refuses a subject with a line break (header injection) and a bad address at deploy, naming the task and the fields', async () => {
    const dir = path.join(platform.dagsDir, '..', `bad-email-${process.pid}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'bad.ts'),
      `import { dag } from '@updraft/sdk';\nimport { sendEmail } from '@updraft/plugin-email';\nexport default dag({ id: 'bad_mail' }, () => { sendEmail('notify')({ connection: 'mail', to: 'not an address', subject: 'hi\\r\\nBcc: victim@example.com', text: 'x' }); });\n`,
    );
    const { importErrors } = await platform.deploy(dir);
    expect(importErrors).toHaveLength(1);
    expect(importErrors[0]!.message).toContain('Invalid params of task "notify" (operator send_email): ');
    expect(importErrors[0]!.message).toContain('to: ');
    expect(importErrors[0]!.message).toContain('subject: subject must be one line');
  });
});
