import path from 'node:path';

/** Where a platform keeps its local state, and where it listens. Declared once with defaults. */
export interface UpdraftConfig {
  /** Local state: embedded database, bundle cache. Default `<cwd>/.updraft` (or UPDRAFT_HOME). */
  home: string;
  /** API host. Default 127.0.0.1: the API has no authentication yet, so it is not exposed. */
  host: string;
  /** API port. Default 4000 (or PORT). */
  port: number;
  /** Task instances one worker runs at once. Default 8. */
  concurrency: number;
}

export function resolveConfig(overrides: { [K in keyof UpdraftConfig]?: UpdraftConfig[K] | undefined } = {}): UpdraftConfig {
  const port = overrides.port ?? Number(process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`port must be a whole number from 0 to 65535, got ${port}`);
  const concurrency = overrides.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  return {
    home: path.resolve(overrides.home ?? process.env.UPDRAFT_HOME ?? '.updraft'),
    host: overrides.host ?? '127.0.0.1',
    port,
    concurrency,
  };
}

export const bundleCacheDir = (config: Pick<UpdraftConfig, 'home'>) => path.join(config.home, 'bundles');
