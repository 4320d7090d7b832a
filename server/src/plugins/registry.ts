// The plugins the platform found (discover.ts), what each one offers, and connection tests.
// Plugin code is code from packages, not from the platform: like DAG files, it is bundled with
// esbuild and loaded in a child process without database credentials (plugin-child.cjs),
// which is killed when it overstays its time limit.
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { ConnectionTestResult, ConnectionTypeInfo, OperatorInfo, TaskConnection } from '@updraft/sdk';
import { sha256 } from '../bundle/build.js';
import { ESBUILD_CONDITIONS } from '../bundle/conditions.js';
import { writeBundleFile } from '../bundle/cache.js';
import { coerceError } from '../errors.js';
import { taskEnvironment } from '../executor/task-environment.js';
import { SecretMasker } from '../secrets/masking.js';
import { discoverPlugins, type PluginPackage } from './discover.js';

/** What the platform lists about an installed plugin. */
export interface PluginInfo {
  name: string;
  version: string;
  description: string | null;
  operators: OperatorInfo[];
  connectionTypes: ConnectionTypeInfo[];
  /** Why the plugin could not be loaded (then it offers nothing); null when it loaded. */
  error: string | null;
}

/** The outcome of a connection test. */
export interface ConnectionTestOutcome extends ConnectionTestResult {
  /** The plugin whose connection type ran the test; null when no installed plugin has the type. */
  plugin: string | null;
  durationMs: number;
}

export interface PluginRegistryOptions {
  /** The folder plugins are resolved from (its node_modules and those above). Default: the working folder. */
  from?: string;
  /** Where plugin bundles are written. */
  cacheDir: string;
  /** Time limit of one connection test. Default 15 s. */
  testTimeoutMs?: number;
  /** Time limit of loading one plugin to describe it. Default 30 s. */
  loadTimeoutMs?: number;
  /** The metadata database's URL, kept out of plugin processes' environment (as for task processes). */
  databaseUrl?: string;
}

/** Connection tests that may run at once; more wait their turn (each one is a process). */
const MAX_CONCURRENT_TESTS = 4;
const CHILD = fileURLToPath(new URL('./plugin-child.cjs', import.meta.url));

export class PluginRegistry {
  readonly #from: string;
  readonly #cacheDir: string;
  readonly #testTimeoutMs: number;
  readonly #loadTimeoutMs: number;
  readonly #databaseUrl: string;
  #loaded: Promise<Array<{ pkg: PluginPackage; bundlePath: string | null; info: PluginInfo }>> | null = null;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: PluginRegistryOptions) {
    this.#from = options.from ?? process.cwd();
    this.#cacheDir = options.cacheDir;
    this.#testTimeoutMs = options.testTimeoutMs ?? 15_000;
    this.#loadTimeoutMs = options.loadTimeoutMs ?? 30_000;
    this.#databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL ?? '';
  }

  /** The installed plugins, found and loaded on the first call (`refresh()` looks again). */
  async list(): Promise<PluginInfo[]> {
    return (await this.#load()).map((p) => p.info);
  }

  /** Forgets what was found: the next `list()` discovers and loads the plugins again. */
  refresh(): void {
    this.#loaded = null;
  }

  /**
   * Runs the test of `conn.type`'s connection type, in a child process, within the time limit.
   * The message never holds the password or a secret extra value (masked as `***`).
   */
  async testConnection(conn: TaskConnection): Promise<ConnectionTestOutcome> {
    const started = Date.now();
    const plugins = await this.#load();
    const owner = plugins.find((p) => p.bundlePath && p.info.connectionTypes.some((t) => t.type === conn.type));
    const masker = new SecretMasker();
    if (conn.password) masker.add(conn.password);
    masker.addSensitiveValues(conn.extra);
    for (const field of owner?.info.connectionTypes.find((t) => t.type === conn.type)?.fields ?? []) {
      if (field.secret) masker.addEvery(field.extra ? conn.extra[field.name] : conn[field.name as 'host' | 'port' | 'login' | 'password' | 'schema']);
    }
    const done = (result: ConnectionTestResult, plugin: string | null): ConnectionTestOutcome => ({
      ok: result.ok,
      message: masker.mask(result.message).slice(0, 2_000),
      plugin,
      durationMs: Date.now() - started,
    });
    if (!owner) {
      const known = plugins.flatMap((p) => p.info.connectionTypes.map((t) => t.type));
      return done({ ok: false, message: `No installed plugin defines connection type "${conn.type}" (installed types: ${known.join(', ') || 'none'})` }, null);
    }
    const type = owner.info.connectionTypes.find((t) => t.type === conn.type)!;
    if (!type.testable) return done({ ok: false, message: `Connection type "${conn.type}" (${owner.pkg.name}) has no test` }, owner.pkg.name);
    await this.#turn();
    try {
      const reply = await runChild(
        this.#databaseUrl,
        { kind: 'test', bundlePath: owner.bundlePath, connection: conn, timeoutMs: this.#testTimeoutMs },
        this.#testTimeoutMs + 1_000,
        `the test of connection type "${conn.type}" took longer than ${this.#testTimeoutMs / 1000} s`,
      );
      return done(reply.ok ? (reply.result as ConnectionTestResult) : { ok: false, message: reply.message }, owner.pkg.name);
    } finally {
      this.#release();
    }
  }

  #load() {
    this.#loaded ??= (async () => {
      const packages = await discoverPlugins(this.#from);
      const loaded = [];
      for (const pkg of packages) loaded.push(await this.#describe(pkg));
      return loaded;
    })();
    return this.#loaded;
  }

  async #describe(pkg: PluginPackage) {
    const info: PluginInfo = { name: pkg.name, version: pkg.version, description: pkg.description, operators: [], connectionTypes: [], error: null };
    try {
      const bundlePath = await this.#bundle(pkg);
      const reply = await runChild(this.#databaseUrl, { kind: 'describe', bundlePath }, this.#loadTimeoutMs, `loading ${pkg.name} took longer than ${this.#loadTimeoutMs / 1000} s`);
      if (!reply.ok) return { pkg, bundlePath: null, info: { ...info, error: String(reply.message) } };
      return { pkg, bundlePath, info: { ...info, operators: reply.operators as OperatorInfo[], connectionTypes: reply.connectionTypes as ConnectionTypeInfo[] } };
    } catch (e) {
      return { pkg, bundlePath: null, info: { ...info, error: coerceError(e).message } };
    }
  }

  /** The plugin and its SDK in one CommonJS bundle, as DAG bundles are built (bundle/build.ts). */
  async #bundle(pkg: PluginPackage): Promise<string> {
    const entry = `module.exports = { plugin: require(${JSON.stringify(pkg.entry)}), sdk: require('@updraft/sdk') };\n`;
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: pkg.dir, sourcefile: 'updraft-plugin-entry.js', loader: 'js' },
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
      conditions: ESBUILD_CONDITIONS,
      outfile: 'plugin.cjs',
    });
    const code = result.outputFiles[0]!.text;
    return writeBundleFile(this.#cacheDir, { hash: sha256(code), code });
  }

  async #turn(): Promise<void> {
    if (this.#running < MAX_CONCURRENT_TESTS) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}

type ChildReply = { ok: true; [key: string]: unknown } | { ok: false; message: string };

/** Forks plugin-child.cjs, sends `request`, and returns its one reply; kills it at the time limit. */
function runChild(databaseUrl: string, request: Record<string, unknown>, timeoutMs: number, timeoutMessage: string): Promise<ChildReply> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: taskEnvironment(databaseUrl) });
    let settled = false;
    const finish = (reply: ChildReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(reply);
    };
    const timer = setTimeout(() => finish({ ok: false, message: timeoutMessage }), timeoutMs);
    child.on('message', (reply: ChildReply) => finish(reply));
    child.on('error', (e) => finish({ ok: false, message: `could not start the plugin process: ${e.message}` }));
    child.on('exit', (code, signal) => finish({ ok: false, message: `the plugin process exited (${signal ?? `code ${code}`}) before answering` }));
    child.send(request);
  });
}

let shared: PluginRegistry | undefined;

/** One registry per process for the plugins reachable from the working folder (createApi's default). */
export function defaultPluginRegistry(): PluginRegistry {
  shared ??= new PluginRegistry({ cacheDir: path.join(os.tmpdir(), 'updraft-plugin-bundles') });
  return shared;
}
