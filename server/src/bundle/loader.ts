import { createRequire } from 'node:module';
import path from 'node:path';
import type { Pool } from 'pg';
import type { RunCallbackContext, TaskContext } from '@updraft/sdk';
import { sql } from '../executor/sql.js';
import { writeBundleFile } from './cache.js';

/** The part of an SDK `Dag` a worker uses; the SDK copy inside each bundle provides it. */
export interface RunnableDag {
  id: string;
  runTask(taskId: string, args: unknown[], ctx: TaskContext): Promise<unknown>;
  runCallback(taskId: string, name: string, ctx: TaskContext & { error?: { name: string; message: string } }): Promise<void>;
  runDagCallback(ctx: RunCallbackContext): Promise<void>;
}

const DAG = Symbol.for('@updraft/sdk/Dag');
const requireBundle = createRequire(import.meta.url);

/**
 * Loads the DAGs of a bundle version (into this process for `isolation: 'none'`, as a
 * file for task processes otherwise): fetched from Postgres by hash
 * once, cached on disk under `cacheDir` and in memory. Every run executes the exact
 * bundle its DagVersion points to, whatever was deployed since.
 */
export class BundleLoader {
  readonly #modules = new Map<string, Promise<Record<string, () => Record<string, unknown>>>>();
  readonly #files = new Map<string, Promise<string>>();

  constructor(
    private readonly pool: Pool,
    private readonly cacheDir: string,
  ) {}

  async dag(bundleHash: string, fileName: string, dagId: string): Promise<RunnableDag> {
    const files = await this.#module(bundleHash);
    const load = files[fileName];
    if (!load) throw new Error(`Bundle ${bundleHash.slice(0, 12)} has no file ${fileName}`);
    const found = Object.values(load()).find(
      (value): value is RunnableDag => typeof value === 'object' && value !== null && (value as { [DAG]?: unknown })[DAG] === true && (value as RunnableDag).id === dagId,
    );
    if (!found) throw new Error(`${fileName} in bundle ${bundleHash.slice(0, 12)} does not export DAG "${dagId}"`);
    return found;
  }

  /** The bundle's file in the cache (fetched from the database the first time): what isolated task processes load. */
  file(hash: string): Promise<string> {
    let file = this.#files.get(hash);
    if (!file) {
      file = (async () => {
        const [row] = await sql<{ code: string }>(this.pool, 'select_bundle', [hash]);
        if (!row) throw new Error(`Bundle ${hash} is not in the database`);
        return path.resolve(await writeBundleFile(this.cacheDir, { hash, code: row.code }));
      })();
      file.catch(() => this.#files.delete(hash));
      this.#files.set(hash, file);
    }
    return file;
  }

  #module(hash: string) {
    let loaded = this.#modules.get(hash);
    if (!loaded) {
      loaded = this.file(hash).then((file) => requireBundle(file));
      loaded.catch(() => this.#modules.delete(hash));
      this.#modules.set(hash, loaded);
    }
    return loaded;
  }
}
