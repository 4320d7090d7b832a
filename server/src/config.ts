import path from 'node:path';
import { byteSize, durationMs, memoryMb } from './dags/duration.js';
import { MAX_LOG_BYTES, MAX_LOG_LINES } from './executor/log-limits.js';
import { retentionCrontab } from './retention/cron.js';
import { resolveRetentionPolicy, type RetentionPolicy } from './retention/policy.js';

export { byteSize };

/** Where a platform keeps its local state, where it listens and how its workers behave. Declared once with defaults. */
export interface UpdraftConfig {
  /** Local state: embedded database, bundle cache. Default `<cwd>/.updraft` (or UPDRAFT_HOME). */
  home: string;
  /** API host. Default 127.0.0.1 (loopback), where `updraft start` serves the API open; elsewhere tokens are required. */
  host: string;
  /** API port. Default 4000 (or PORT). */
  port: number;
  /** Task instances one worker runs at once. Default 8. */
  concurrency: number;
  /** The queues a worker takes task instances from. Default `default` (or UPDRAFT_QUEUES, comma-separated). */
  queues: string[];
  /**
   * A worker that sent no heartbeat for this long is taken for dead: its tries fail as
   * `WorkerLost` and its jobs are released. Default 30 s (or UPDRAFT_LOST_WORKER_TIMEOUT).
   */
  lostWorkerTimeoutMs: number;
  /** Memory of an isolated task's process unless the task sets `memoryLimit`, in MB. Default 1024 (or UPDRAFT_MEMORY_LIMIT). */
  memoryLimitMb: number;
  /** On shutdown, how long running tries may take to finish before they are aborted. Default 30 s. */
  shutdownGraceMs: number;
  /** Lines one try may log before the rest is dropped (one marker line says how many). Default 10,000 (or UPDRAFT_LOG_MAX_LINES). */
  logMaxLines: number;
  /** Bytes one try may log (messages and fields), likewise. Default 5 MB (or UPDRAFT_LOG_MAX_BYTES, e.g. "5MB"). */
  logMaxBytes: number;
  /** XCom values larger than this (their text) go to the object store (`<home>/xcom`). Default 64 KB (or UPDRAFT_XCOM_INLINE_MAX_BYTES). */
  xcomInlineMaxBytes: number;
  /** A larger XCom value fails its task. Default 1 GB (or UPDRAFT_XCOM_MAX_BYTES). */
  xcomMaxBytes: number;
  /** Origins that browsers may call the API from besides its own. Default none (or UPDRAFT_CORS_ORIGINS, comma-separated). */
  corsOrigins: string[];
  /** Extra `Host` header values the API accepts, e.g. behind a reverse proxy. Default none (or UPDRAFT_ALLOWED_HOSTS, comma-separated). */
  allowedHosts: string[];
  /**
   * How long history is kept, for the retention cron job that workers run (see
   * retention/policy.ts): 30 days unless UPDRAFT_RETENTION_DAYS (or `--retention-days`) says
   * otherwise; null (`off`) runs no retention job.
   */
  retention: RetentionPolicy | null;
}

type Overrides = { [K in keyof Omit<UpdraftConfig, 'retention'>]?: UpdraftConfig[K] | undefined } & {
  /** `off`: no retention job; a number: the default days; a policy: part of one. */
  retention?: Partial<RetentionPolicy> | 'off' | undefined;
};

export function resolveConfig(overrides: Overrides = {}): UpdraftConfig {
  const port = overrides.port ?? Number(process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`port must be a whole number from 0 to 65535, got ${port}`);
  const concurrency = overrides.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  const lostWorkerTimeoutMs = overrides.lostWorkerTimeoutMs ?? fromEnv('UPDRAFT_LOST_WORKER_TIMEOUT', durationMs, 'a duration such as "30s"') ?? 30_000;
  if (!(lostWorkerTimeoutMs >= 1_000)) throw new TypeError(`the lost-worker timeout must be at least 1 s, got ${lostWorkerTimeoutMs} ms`);
  const memoryLimitMb = overrides.memoryLimitMb ?? fromEnv('UPDRAFT_MEMORY_LIMIT', memoryMb, 'a memory size such as "1GB"') ?? 1024;
  if (!(memoryLimitMb >= 32)) throw new TypeError(`the memory limit must be at least 32 MB, got ${memoryLimitMb} MB`);
  const shutdownGraceMs = overrides.shutdownGraceMs ?? 30_000;
  if (!(shutdownGraceMs >= 0)) throw new TypeError(`the shutdown grace period must be 0 or more, got ${shutdownGraceMs} ms`);
  const logMaxLines = overrides.logMaxLines ?? fromEnv('UPDRAFT_LOG_MAX_LINES', wholeNumber, 'a whole number') ?? MAX_LOG_LINES;
  if (!Number.isInteger(logMaxLines) || logMaxLines < 1) throw new TypeError(`the log line limit must be a whole number of at least 1, got ${logMaxLines}`);
  const logMaxBytes = overrides.logMaxBytes ?? fromEnv('UPDRAFT_LOG_MAX_BYTES', byteSize, 'a size such as "5MB"') ?? MAX_LOG_BYTES;
  if (!Number.isInteger(logMaxBytes) || logMaxBytes < 1024) throw new TypeError(`the log size limit must be at least 1 KB, got ${logMaxBytes} bytes`);
  const xcomInlineMaxBytes = overrides.xcomInlineMaxBytes ?? fromEnv('UPDRAFT_XCOM_INLINE_MAX_BYTES', byteSize, 'a size such as "64KB"') ?? 64 * 1024;
  const xcomMaxBytes = overrides.xcomMaxBytes ?? fromEnv('UPDRAFT_XCOM_MAX_BYTES', byteSize, 'a size such as "1GB"') ?? 1024 ** 3;
  if (!Number.isInteger(xcomInlineMaxBytes) || xcomInlineMaxBytes < 0) throw new TypeError(`the XCom inline limit must be 0 or more bytes, got ${xcomInlineMaxBytes}`);
  if (!Number.isInteger(xcomMaxBytes) || xcomMaxBytes < xcomInlineMaxBytes) throw new TypeError(`the XCom size limit (${xcomMaxBytes} bytes) cannot be less than the inline limit (${xcomInlineMaxBytes} bytes)`);
  const retentionOff = overrides.retention === 'off' || (overrides.retention === undefined && ['off', '0'].includes(process.env.UPDRAFT_RETENTION_DAYS ?? ''));
  const retention = retentionOff ? null : resolveRetentionPolicy(overrides.retention === 'off' ? {} : overrides.retention);
  if (retention) retentionCrontab(retention); // a bad schedule fails here, not in the worker
  return {
    home: path.resolve(overrides.home ?? process.env.UPDRAFT_HOME ?? '.updraft'),
    host: overrides.host ?? '127.0.0.1',
    port,
    concurrency,
    queues: checkQueues(overrides.queues ?? (list(process.env.UPDRAFT_QUEUES).length > 0 ? list(process.env.UPDRAFT_QUEUES) : ['default'])),
    lostWorkerTimeoutMs,
    memoryLimitMb,
    shutdownGraceMs,
    logMaxLines,
    logMaxBytes,
    xcomInlineMaxBytes,
    xcomMaxBytes,
    corsOrigins: overrides.corsOrigins ?? list(process.env.UPDRAFT_CORS_ORIGINS),
    allowedHosts: overrides.allowedHosts ?? list(process.env.UPDRAFT_ALLOWED_HOSTS),
    retention,
  };
}

/** Checks a worker's queue names (as tasks name them); returns them without duplicates. */
export function checkQueues(queues: string[]): string[] {
  if (queues.length === 0) throw new TypeError('a worker needs at least one queue (e.g. --queues default)');
  for (const queue of queues) {
    if (!QUEUE_NAME.test(queue)) throw new TypeError(`queue ${JSON.stringify(queue.slice(0, 120))} is not a queue name: names are 1-100 letters, digits, "_", "-" or "."`);
  }
  return [...new Set(queues)];
}

/** What names a queue or a pool (CAPACITY_NAME in dags/structure.ts). */
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function wholeNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function fromEnv<T>(name: string, parse: (text: never) => T | undefined, what: string): T | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = parse(text as never);
  if (value === undefined) throw new TypeError(`${name} must be ${what}, got ${JSON.stringify(text)}`);
  return value;
}

export const bundleCacheDir = (config: Pick<UpdraftConfig, 'home'>) => path.join(config.home, 'bundles');
