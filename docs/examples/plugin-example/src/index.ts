// @acme/updraft-chat: the example plugin of docs/plugins.md. A connection type for a chat
// service, an operator that posts a message, and a sensor that waits until someone acknowledges
// it. test/plugin-example.test.ts builds this package and runs it against a chat server it starts.
import { defineConnectionType, defineOperator, defineSensor, NonRetryableError, type TaskConnection } from '@updraft/sdk';
import { z } from 'zod';

/** The chat service answered with an error status (4xx other than 429: retrying will not help). */
export class ChatRequestFailed extends NonRetryableError {
  override name = 'ChatRequestFailed';
  constructor(
    message: string,
    /** The HTTP status the service answered. */
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A chat service: `host` is its host name (reached over HTTPS) or its base URL, `password` the
 * bot's API token (always secret), and `extra.channel` the channel messages go to when the
 * operator names none. As an environment variable, a URI or a JSON object:
 * `UPDRAFT_CONN_TEAM_CHAT='chat://:TOKEN@chat.example.com?channel=releases'`.
 */
export const chatConnection = defineConnectionType({
  type: 'chat',
  label: 'Chat service',
  description: 'A chat service API: its base URL and a bot token.',
  fields: {
    host: { label: 'Host or base URL', required: true },
    password: { label: 'Bot token', required: true },
    extra: { channel: { label: 'Default channel' } },
  },
  // `testConnection` runs this in a throwaway process, aborting `signal` at its time limit.
  test: async (conn, { signal }) => {
    const me = (await call(conn, 'GET', '/api/me', undefined, signal)) as { name: string };
    return { ok: true, message: `signed in as ${me.name}` };
  },
});

/** Params of `postMessage`. */
export const PostMessageParams = z.strictObject({
  connection: z.string().describe('Id of a chat connection'),
  text: z.string().min(1).max(4_000).describe('The message'),
  channel: z.string().optional().describe("Default: the connection's extra.channel"),
});
export type PostMessageParams = z.input<typeof PostMessageParams>;

/** Posts a message; its XCom value is the message's id. */
export const postMessage = defineOperator({
  name: 'post_message',
  description: 'Posts a message to a chat channel; its value is the message id.',
  params: PostMessageParams,
  defaults: { retries: 2, timeout: '1m' },
  run: async ({ connection, text, channel }, ctx) => {
    const conn = await chatConnection.get(connection);
    const to = channel ?? conn.extra.channel;
    if (typeof to !== 'string') throw new NonRetryableError(`task "${ctx.taskId}": no channel: pass one, or set extra.channel of connection "${connection}"`);
    const { id } = (await call(conn, 'POST', '/api/messages', { channel: to, text }, ctx.signal)) as { id: string };
    ctx.log.info(`posted message ${id} to #${to}`);
    return id;
  },
});

/** Params of `messageAcknowledged`. */
export const MessageAcknowledgedParams = z.strictObject({
  connection: z.string().describe('Id of a chat connection'),
  messageId: z.string().min(1).describe('The message to watch (postMessage returns it)'),
});
export type MessageAcknowledgedParams = z.input<typeof MessageAcknowledgedParams>;

/** Waits until someone acknowledges a message; its XCom value is who did. */
export const messageAcknowledged = defineSensor({
  name: 'message_acknowledged',
  description: 'Waits until someone acknowledges a message; its value is who did.',
  params: MessageAcknowledgedParams,
  // Waits for people are long: free the worker slot between checks.
  defaults: { mode: 'reschedule', interval: '1m', timeout: '1d' },
  poke: async ({ connection, messageId }, ctx) => {
    const conn = await chatConnection.get(connection);
    const message = (await call(conn, 'GET', `/api/messages/${encodeURIComponent(messageId)}`, undefined, ctx.signal)) as { ackedBy: string | null };
    return message.ackedBy ?? false; // falsy: not yet, check again after `interval`
  },
});

/** One request to the service, within 10 s and `signal` (aborted when the try times out or the worker stops). */
async function call(conn: TaskConnection, method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  const host = conn.host!;
  const url = new URL(path, /^https?:\/\//i.test(host) ? host : `https://${host}${conn.port ? `:${conn.port}` : ''}`);
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${conn.password}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
  });
  if (response.ok) return response.json();
  const what = `${method} ${url.pathname} answered ${response.status}`;
  // A 5xx or 429 may pass: a plain Error lets the task's retries try again.
  if (response.status >= 500 || response.status === 429) throw new Error(what);
  throw new ChatRequestFailed(what, response.status);
}
