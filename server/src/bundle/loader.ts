import { createRequire } from 'node:module';
import path from 'node:path';
import type { Pool } from 'pg';
import type { TaskContext } from '@updraft/sdk';
import { sql } from '../executor/sql.js';
import { writeBundleFile } from './cache.js';

/** The part of an SDK `Dag` a worker uses; the SDK copy inside each bundle provides it. */
export interface RunnableDag {
  id: string;
  runTask(taskId: string, args: unknown[], ctx: TaskContext): Promise<unknown>;
}

const DAG = Symbol.for('@updraft/sdk/Dag');
const requireBundle = createRequire(import.meta.url);

/**
 * Loads the DAGs of a bundle version into this process: fetched from Postgres by hash
 * once, cached on disk under `cacheDir` and in memory. Every run executes the exact
 * bundle its DagVersion points to, whatever was deployed since.
 */
export class BundleLoader {
  readonly #modules = new Map<string, Promise<Record<string, () => Record<string, unknown>>>>();

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

  #module(hash: string) {
    let loaded = this.#modules.get(hash);
    if (!loaded) {
      loaded = (async () => {
        const [row] = await sql<{ code: string }>(this.pool, 'select_bundle', [hash]);
        if (!row) throw new Error(`Bundle ${hash} is not in the database`);
        const file = await writeBundleFile(this.cacheDir, { hash, code: row.code });
        return requireBundle(path.resolve(file));
      })();
      loaded.catch(() => this.#modules.delete(hash));
      this.#modules.set(hash, loaded);
    }
    return loaded;
  }
}
