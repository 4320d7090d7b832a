// The email operator (Airflow's EmailOperator): one message over an smtp connection.
import { DURATION_PATTERN, defineOperator, toMilliseconds } from '@updraft/sdk';
import { z } from 'zod';
import { openTransport, smtpConnection } from './connection.js';

/** The SMTP server refused the message, or did not answer in time. */
export class EmailNotSent extends Error {
  override name = 'EmailNotSent';
}

const duration = z.union([z.number().nonnegative(), z.string().regex(DURATION_PATTERN, 'a duration such as "30s", "5m" or a number of milliseconds')]);
const address = z.email('an email address');
const addresses = z.union([address, z.array(address).min(1).max(1_000)]);
/** One line: a CR or LF in a header would let a value add headers of its own (header injection). */
const oneLine = (what: string) => z.string().max(2_000).regex(/^[^\r\n]*$/, `${what} must be one line`);

/** The email operator's params. */
export const SendEmailParams = z
  .strictObject({
    /** An `smtp` connection's id. */
    connection: z.string().min(1),
    to: addresses,
    cc: addresses.optional(),
    bcc: addresses.optional(),
    /** The sender; default: the connection's `extra.from`. */
    from: oneLine('from').optional(),
    replyTo: address.optional(),
    subject: oneLine('subject'),
    /** The plain-text body. */
    text: z.string().max(10 * 1024 * 1024).optional(),
    /** The HTML body. */
    html: z.string().max(10 * 1024 * 1024).optional(),
    /** Files attached from text content (e.g. a CSV an upstream task produced). */
    attachments: z
      .array(z.strictObject({ filename: oneLine('filename').min(1), content: z.string().max(10 * 1024 * 1024), contentType: oneLine('contentType').optional() }))
      .max(100)
      .optional(),
    /** Time limit of each wait on the server (connect, greeting, each reply). Default `"30s"`. */
    timeout: duration.default('30s'),
  })
  .refine((p) => p.text !== undefined || p.html !== undefined, { message: 'give a text or an html body', path: ['text'] });
export type SendEmailParams = z.input<typeof SendEmailParams>;

/**
 * Sends one email; publishes `{ messageId, accepted, rejected }`.
 *
 * ```ts
 * sendEmail('notify')({ connection: 'smtp_default', to: 'team@example.com', subject: 'Report ready', text: 'See the dashboard.' });
 * ```
 */
export const sendEmail = defineOperator({
  name: 'send_email',
  description: 'Sends an email over SMTP (nodemailer).',
  params: SendEmailParams,
  run: async (params, ctx) => {
    const conn = await smtpConnection.get(params.connection);
    const from = params.from ?? (typeof conn.extra.from === 'string' ? conn.extra.from : undefined);
    if (!from) throw new EmailNotSent(`task "${ctx.taskId}": no sender: give params.from, or set extra.from on connection "${conn.id}"`);
    const transport = openTransport(conn, toMilliseconds(params.timeout));
    const onAbort = () => transport.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await transport.sendMail({
        from,
        to: params.to,
        cc: params.cc,
        bcc: params.bcc,
        replyTo: params.replyTo,
        subject: params.subject,
        text: params.text,
        html: params.html,
        attachments: params.attachments,
        headers: { 'X-Updraft-Task': `${ctx.dagId}/${ctx.runId}/${ctx.taskId}` },
      });
      const accepted = info.accepted.map(String);
      const rejected = info.rejected.map(String);
      ctx.log.info(`sent "${params.subject}" to ${accepted.length} recipient(s)${rejected.length ? `, ${rejected.length} rejected` : ''}`, { messageId: info.messageId });
      return { messageId: info.messageId, accepted, rejected };
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      throw new EmailNotSent(`task "${ctx.taskId}": ${conn.host}:${conn.port} did not take the message: ${(e as Error).message}`);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  },
});
