import { defineConnectionType, type TaskConnection } from '@updraft/sdk';
import nodemailer from 'nodemailer';

/**
 * An SMTP server (Airflow's `smtp` connection): `login`/`password` for AUTH, `extra.secure`
 * for TLS from the start (port 465; otherwise STARTTLS is used when the server offers it),
 * `extra.from` the default sender.
 */
export const smtpConnection = defineConnectionType({
  type: 'smtp',
  label: 'SMTP',
  description: 'An SMTP server that sends email.',
  defaultPort: 587,
  fields: {
    host: { label: 'Host', required: true },
    port: { label: 'Port' },
    login: { label: 'User' },
    password: { label: 'Password' },
    extra: {
      secure: { label: 'TLS from the start (true for port 465)' },
      requireTLS: { label: 'Refuse to send without STARTTLS' },
      from: { label: 'Default sender', description: 'e.g. "Updraft <updraft@example.com>".' },
    },
  },
  test: async (conn, { signal }) => {
    const transport = openTransport(conn, 10_000);
    const onAbort = () => transport.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await transport.verify();
      return { ok: true, message: `${conn.host}:${conn.port} accepted the connection${conn.login ? ` and the login of "${conn.login}"` : ''}` };
    } finally {
      signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  },
});

/** A nodemailer transport for an smtp connection; every wait (connect, greeting, each reply) bounded by `timeoutMs`. */
export function openTransport(conn: TaskConnection, timeoutMs: number) {
  const port = conn.port ?? 587;
  const secure = conn.extra.secure === undefined ? port === 465 : conn.extra.secure === true || conn.extra.secure === 'true';
  return nodemailer.createTransport({
    host: conn.host ?? undefined,
    port,
    secure,
    requireTLS: conn.extra.requireTLS === true || conn.extra.requireTLS === 'true',
    auth: conn.login ? { user: conn.login, pass: conn.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    logger: false,
  });
}
