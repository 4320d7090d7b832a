// Connections given in the worker's environment (Airflow's `AIRFLOW_CONN_<ID>`):
// `UPDRAFT_CONN_<ID>` holds a URI, `type://login:password@host:port/schema?extra=value`, or a
// JSON object `{ "type": …, "host": …, "password": …, "extra": {…} }`. The worker reads them
// (task processes never see `UPDRAFT_*` variables) and they win over stored connections, as
// in Airflow, where environment variables are searched before the metastore.
import { connectionProblems, type ConnectionFields } from './input.js';

/** The environment variable that holds connection `id`: `UPDRAFT_CONN_` and the id in upper case. */
export function connectionVariable(id: string): string {
  return `UPDRAFT_CONN_${id.toUpperCase()}`;
}

/**
 * The connection in `text` (the value of `variable`), or throws an error naming the variable
 * and what is wrong. Never quotes the value: it holds a password.
 */
export function parseConnectionText(variable: string, text: string): ConnectionFields {
  const trimmed = text.trim();
  const fields = trimmed.startsWith('{') ? fromJson(variable, trimmed) : fromUri(variable, trimmed);
  const problems = connectionProblems(fields);
  if (problems.length > 0) throw new Error(`${variable} does not hold a valid connection: ${problems.join('; ')}`);
  return fields;
}

function fromUri(variable: string, text: string): ConnectionFields {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1];
  let url: URL;
  try {
    if (!scheme) throw new Error('no scheme');
    url = new URL(text);
  } catch {
    throw new Error(`${variable} is not a connection URI (type://login:password@host:port/schema?extra=value) nor a JSON object`);
  }
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new Error(`${variable}: the ${what} is not properly percent-encoded`);
    }
  };
  // Airflow's rules: `-` in the scheme stands for `_`, and `postgresql` is `postgres`.
  const type = scheme!.toLowerCase() === 'postgresql' ? 'postgres' : scheme!.replaceAll('-', '_');
  const params = [...url.searchParams];
  let extra: Record<string, unknown> = Object.fromEntries(params);
  if (params.length === 1 && params[0]![0] === '__extra__') {
    const parsed = parseJson(params[0]![1]);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${variable}: __extra__ must be a JSON object`);
    extra = parsed as Record<string, unknown>;
  }
  const path = url.pathname.replace(/^\//, '');
  return {
    type,
    host: url.hostname === '' ? null : decode(url.hostname, 'host'),
    port: url.port === '' ? null : Number(url.port),
    login: url.username === '' ? null : decode(url.username, 'login'),
    password: url.password === '' ? null : decode(url.password, 'password'),
    schema: path === '' ? null : decode(path, 'schema'),
    extra,
  };
}

function fromJson(variable: string, text: string): ConnectionFields {
  const parsed = parseJson(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${variable} is neither a connection URI nor a JSON object`);
  const json = parsed as Record<string, unknown>;
  const str = (name: string): string | null => {
    const value = json[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') throw new Error(`${variable}: "${name}" must be a string`);
    return value;
  };
  const port = json['port'];
  if (port !== undefined && port !== null && typeof port !== 'number') throw new Error(`${variable}: "port" must be a number`);
  const extra = json['extra'] ?? {};
  const type = str('type') ?? str('conn_type'); // conn_type: Airflow's name
  if (type === null) throw new Error(`${variable}: the JSON object needs a "type" (e.g. "postgres")`);
  return {
    type,
    host: str('host'),
    port: (port as number | null | undefined) ?? null,
    login: str('login'),
    password: str('password'),
    schema: str('schema'),
    extra: typeof extra === 'string' ? (parseJson(extra) as Record<string, unknown>) : (extra as Record<string, unknown>),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
