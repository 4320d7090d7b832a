import { defineConnectionType, type TaskConnection } from '@updraft/sdk';
import { request } from './request.js';

/**
 * An HTTP API (Airflow's `http` connection): `host` is a host name or a base URL, `schema`
 * the scheme when `host` has none (`http` by default), `login`/`password` basic auth, and
 * `extra.headers` headers sent with every request.
 */
export const httpConnection = defineConnectionType({
  type: 'http',
  label: 'HTTP',
  description: 'An HTTP API: base URL, basic auth, default headers.',
  fields: {
    host: { label: 'Host or base URL', required: true },
    port: { label: 'Port' },
    schema: { label: 'Scheme (http or https)' },
    login: { label: 'User' },
    password: { label: 'Password' },
    extra: {
      headers: { label: 'Headers (a JSON object)', description: 'Sent with every request; a sensitive name (Authorization, X-Api-Key) is masked in logs.' },
      testPath: { label: 'Path the connection test requests', description: 'Default: the base URL itself.' },
    },
  },
  test: async (conn, { signal }) => {
    const url = resolveUrl(conn, typeof conn.extra.testPath === 'string' ? conn.extra.testPath : '');
    const response = await request({ url, method: 'GET', headers: connectionHeaders(conn), timeoutMs: 10_000, signal, maxResponseBytes: 64 * 1024 });
    const ok = response.status < 400;
    return { ok, message: `GET ${url.origin}${url.pathname} answered ${response.status}` };
  },
});

/** The base URL of an http connection. */
export function baseUrl(conn: TaskConnection): string {
  const host = conn.host ?? '';
  if (/^https?:\/\//i.test(host)) return host;
  const scheme = conn.schema ?? (conn.type === 'https' ? 'https' : 'http');
  return `${scheme}://${host}${conn.port ? `:${conn.port}` : ''}`;
}

/** `path` (a URL or a path) against the connection's base URL. */
export function resolveUrl(conn: TaskConnection | null, path: string): URL {
  if (!conn) return new URL(path);
  const base = baseUrl(conn);
  return new URL(path === '' ? base : path, base.endsWith('/') ? base : `${base}/`);
}

/** Basic auth and the connection's default headers. */
export function connectionHeaders(conn: TaskConnection | null): Record<string, string> {
  if (!conn) return {};
  const headers: Record<string, string> = {};
  const extra = conn.extra.headers;
  if (typeof extra === 'object' && extra !== null) for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = String(value);
  if (conn.login !== null) headers.authorization = `Basic ${Buffer.from(`${conn.login}:${conn.password ?? ''}`).toString('base64')}`;
  return headers;
}
