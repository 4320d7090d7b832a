import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import os from 'node:os';
import { GraphQLError } from 'graphql';
import { createYoga, maskError, type Plugin } from 'graphql-yoga';
import { isConnectionError, UpdraftError } from '../errors.js';
import { HEARTBEAT_TIMEOUT_MS } from '../executor/recovery.js';
import { noSecretKey, SECRET_KEY_VARIABLE, type SecretKeySource } from '../secrets/key.js';
import { authentication, type AuthOptions } from './authentication.js';
import { dashboardHandler, DEFAULT_DASHBOARD_DIR } from './dashboard.js';
import { errorResponse } from './http.js';
import { inputErrorCodes, markInputError } from './input-errors.js';
import type { ApiDatabase } from './builder.js';
import { LIMITS, limitPlugins } from './limits.js';
import { schema } from './schema/index.js';
import { defaultPluginRegistry, type PluginRegistry } from '../plugins/registry.js';
import { webhooks } from './webhook.js';

export interface ApiOptions {
  /**
   * Authentication (api/authentication.ts). Default: open (a request without a token acts as
   * the local admin) with introspection, which `serveApi` allows on loopback addresses only.
   */
  auth?: AuthOptions;
  /**
   * Origins (`https://dash.example.com`) that browsers may call the API from besides its own.
   * Default: none. Requests carrying any other foreign `Origin` are refused (403), and no
   * response ever carries CORS headers for them.
   */
  corsOrigins?: string[];
  /**
   * After how long without a heartbeat a worker or scheduler is reported dead (`Worker.alive`,
   * `health`): the platform's lost-worker timeout. Default 30 s.
   */
  lostWorkerTimeoutMs?: number;
  /**
   * The key that seals secret variables and connection passwords (and opens connection
   * extras to show them). Default: none; such mutations then fail with SECRETS_UNAVAILABLE.
   */
  secretKey?: SecretKeySource;
  /**
   * The installed plugins (`plugins`, `testConnection`). Default: those reachable from the
   * working folder's node_modules, bundles written under the system's temporary folder.
   */
  plugins?: PluginRegistry;
}

export interface ServeOptions extends ApiOptions {
  host: string;
  port: number;
  /**
   * Extra `Host` header values to accept (`updraft.example.com`, or `name:port` to also pin
   * the port), e.g. the name a reverse proxy forwards. See `hostAllowed` for the defaults.
   */
  allowedHosts?: string[];
  /**
   * The dashboard's static export, served at every path but /graphql (api/dashboard.ts).
   * Default: web/out of this checkout; null serves the API alone.
   */
  dashboardDir?: string | null;
}

export const DB_UNAVAILABLE_MESSAGE = 'The metadata database is unreachable; retry shortly';

/**
 * The GraphQL API as a fetch-style handler; `db` is shared by all requests. It also serves
 * the webhooks under `/api/` (webhook.ts), with the same authentication.
 *
 * - `Authorization: Bearer <token>` authenticates a request (authentication.ts); without one,
 *   it acts as the local admin when `auth.open` (the default), else it may use public fields only.
 *   What a caller may do is decided by auth.ts through the schema's scopes.
 * - Only `POST` with `Content-Type: application/json` runs operations (no GET, forms,
 *   multipart or text bodies), so a web page cannot run one without a CORS preflight.
 * - Cross-origin requests are refused unless their origin is in `corsOrigins`.
 * - Limits (limits.ts) refuse oversized operations before they run.
 * - Yoga masks unexpected errors; UpdraftErrors (GraphQLErrors) keep message and code; losing
 *   the database answers 503 SERVICE_UNAVAILABLE.
 *
 * The `Host` header is checked by `serveApi`, which knows the address it listens on.
 */
export function createApi(db: ApiDatabase, opts: ApiOptions = {}) {
  const corsOrigins = new Set(opts.corsOrigins ?? []);
  const auth = authentication(db.prisma, opts.auth);
  const lostWorkerTimeoutMs = opts.lostWorkerTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const secretKey = opts.secretKey ?? noSecretKey(`this API was started without a secret key (${SECRET_KEY_VARIABLE})`);
  const plugins = opts.plugins ?? defaultPluginRegistry();
  return createYoga({
    schema,
    context: ({ request }) => ({ prisma: db.prisma, pool: db.pool, live: db.live, lostWorkerTimeoutMs, secretKey, plugins, ...auth.requestAuth(request) }),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: 'warn',
    multipart: false,
    maxRequestBodySize: LIMITS.maxRequestBytes,
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (origin === null || !corsOrigins.has(origin)) return false;
      return { origin, credentials: false, methods: ['POST'], allowedHeaders: ['content-type', 'authorization'], maxAge: 600 };
    },
    maskedErrors: {
      maskError: (error, message, isDev) => {
        // What a resolver threw (a GraphQLError's own message may quote the caller's input).
        const thrown = error instanceof GraphQLError ? error.originalError : error;
        if (error instanceof GraphQLError && markInputError(error, thrown)) return error;
        if (thrown && isConnectionError(thrown)) {
          const at = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
          return new GraphQLError(DB_UNAVAILABLE_MESSAGE, { ...at, extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } } });
        }
        return maskError(error, message, isDev);
      },
    },
    plugins: [sameOriginOnly(corsOrigins), webhooks(db, auth, secretKey, opts.auth?.onWarning), jsonPostOnly(), auth.plugin, ...limitPlugins(), inputErrorCodes()],
  });
}

/** Refuses requests from foreign origins (browsers send `Origin` on every cross-origin POST). */
function sameOriginOnly(allowed: ReadonlySet<string>): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const origin = request.headers.get('origin');
      if (origin === null || allowed.has(origin) || originHost(origin) === url.host) return;
      endResponse(errorResponse(fetchAPI, 403, 'FORBIDDEN_ORIGIN', `Requests from ${origin} are not allowed (see corsOrigins)`));
    },
    onResponse({ response }) {
      if (allowed.size > 0) response.headers.append('vary', 'Origin');
    },
  };
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** Operations run only from `POST` with a JSON body: such a request cannot be sent cross-site without a preflight. */
function jsonPostOnly(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST') {
        throw new UpdraftError('BAD_USER_INPUT', 'GraphQL operations must be sent as POST with Content-Type: application/json', { httpStatus: 405 });
      }
      const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        throw new UpdraftError('BAD_USER_INPUT', `Content-Type ${type ?? '(none)'} is not accepted: send application/json`, { httpStatus: 415 });
      }
    },
  };
}

/**
 * Serves the API on http://host:port/graphql, the webhooks under /api/, and the dashboard at every other path. An open API (`auth.open`, the default) is served
 * on loopback addresses only: anything else is refused before listening.
 */
export async function serveApi(db: ApiDatabase, opts: ServeOptions): Promise<Server> {
  checkOpenHost(opts.host, opts.auth);
  const api = createApi(db, opts);
  const dashboardDir = opts.dashboardDir === undefined ? DEFAULT_DASHBOARD_DIR : opts.dashboardDir;
  const dashboard = dashboardDir === null ? null : dashboardHandler(dashboardDir);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { port } = server.address() as AddressInfo;
    if (!hostAllowed(req.headers.host, { host: opts.host, port, allowedHosts: opts.allowedHosts })) {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
      const message = `Host ${JSON.stringify(req.headers.host ?? '')} is not allowed (see allowedHosts)`;
      res.end(JSON.stringify({ errors: [{ message, extensions: { code: 'FORBIDDEN_HOST' } }] }));
      return;
    }
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (dashboard && pathname !== '/graphql' && !pathname.startsWith('/api/')) dashboard(req, res);
    else void api(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`Port ${opts.port} on ${opts.host} is in use (another \`updraft start\`?); choose another with --port`) : e),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

/** Refuses to serve an open API (`auth.open`, the default) on an address other machines can reach. */
export function checkOpenHost(host: string, auth: AuthOptions | undefined): void {
  if ((auth?.open ?? true) && !isLoopback(host.replace(/^\[(.*)\]$/, '$1'))) {
    throw new Error(
      `An open API (no token required) listens only on a loopback address (127.0.0.1, ::1, localhost), not ${host}: anyone who could reach it could do anything. ` +
        'Require tokens instead (`updraft server` without --open; create them with `updraft tokens create`), or listen on 127.0.0.1',
    );
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** Whether `host` (a name or an address, without brackets) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.has(h) || (isIP(h) === 4 && h.startsWith('127.')) || h.endsWith('.localhost');
}

/**
 * Whether a request's `Host` header names this server, which defeats DNS rebinding (a page
 * on attacker.example whose name was re-pointed at 127.0.0.1 still sends its own name):
 * - bound to loopback (127.0.0.1, ::1, localhost): `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`;
 * - bound to every interface (0.0.0.0, ::): those, any IP address with the port (an IP
 *   cannot be rebound), and this machine's hostname;
 * - bound to another address or name: that host with the port;
 * plus, in every case, `allowedHosts`: a `name` entry accepts any port, `name:port` only that one.
 */
export function hostAllowed(header: string | undefined, server: { host: string; port: number; allowedHosts?: string[] }): boolean {
  const target = parseHost(header);
  if (!target) return false;
  for (const entry of server.allowedHosts ?? []) {
    const normalized = isIP(entry) === 6 ? `[${entry}]` : entry;
    const allowed = parseHost(normalized);
    const pinsPort = /(?:^[^:[\]]+|\]):\d+$/.test(normalized);
    if (allowed && allowed.name === target.name && (!pinsPort || allowed.port === target.port)) return true;
  }
  if (target.port !== server.port) return false;
  const bound = server.host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (isLoopback(bound)) return LOOPBACK_NAMES.has(target.name);
  if (bound === '0.0.0.0' || bound === '::' || bound === '') {
    return LOOPBACK_NAMES.has(target.name) || isIP(target.name) !== 0 || target.name === os.hostname().toLowerCase();
  }
  return target.name === bound;
}

/** `name[:port]` or `[v6]:port` → lower-case name without brackets or trailing dot, and port (80 when absent). */
function parseHost(header: string | undefined): { name: string; port: number } | null {
  if (!header || !/^[A-Za-z0-9.\-_:[\]]+$/.test(header)) return null;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header);
  if (!match) return null;
  const name = (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '');
  return name ? { name, port: match[3] ? Number(match[3]) : 80 } : null;
}
