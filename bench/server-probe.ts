// What the server itself costs, so that figures from two servers can be compared: a round trip
// that writes nothing, and a commit that writes one row (its WAL flushed, at the default
// durability settings), and the settings that decide the latter.
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { summarize, type Summary } from './stats.js';

/** Settings that decide what a commit and a connection cost. */
const SETTINGS = ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_connections', 'jit', 'ssl'];

export interface ServerProbe {
  /** `SELECT 1` round trip, ms. */
  roundTrip: Summary;
  /** One-row INSERT in autocommit (a WAL flush per commit), ms. */
  commit: Summary;
  settings: Record<string, string>;
}

export async function probeServer(pool: Pool, samples = 300): Promise<ServerProbe> {
  const client = await pool.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS bench_commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    const roundTrip: number[] = [];
    const commit: number[] = [];
    for (let i = 0; i < samples + 20; i++) {
      let began = performance.now();
      await client.query('SELECT 1');
      const rt = performance.now() - began;
      began = performance.now();
      await client.query('INSERT INTO bench_commit_probe DEFAULT VALUES');
      const c = performance.now() - began;
      if (i >= 20) {
        roundTrip.push(rt);
        commit.push(c);
      }
    }
    await client.query('DROP TABLE bench_commit_probe');
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [SETTINGS]);
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit === '8kB' ? `${(Number(r.setting) * 8) / 1024} MB` : r.setting]));
    return { roundTrip: summarize(roundTrip), commit: summarize(commit), settings };
  } finally {
    client.release();
  }
}
