// Is the platform able to do its work? The database answers, its schema is this code's, and
// some scheduler and some worker sent a heartbeat recently. What the API's public `health`
// field reports, and what a load balancer or an uptime check asks.
import type { Pool } from 'pg';
import { migrationStatus, type MigrationStatus } from './db/migrate.js';
import { sql } from './executor/sql.js';

/**
 * - `healthy`: every check passed;
 * - `degraded`: the database answers, but no scheduler or no worker is alive, or its
 *   migrations are not this code's (runs would not be created, or not executed);
 * - `unhealthy`: the database does not answer.
 */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** Processes of one kind that heartbeat (schedulers, workers). */
export interface ProcessHealth {
  /** How many sent a heartbeat within the lost-worker timeout and have not stopped. */
  alive: number;
  /** The most recent heartbeat of any of them, alive or not; null if none ever ran. */
  latestHeartbeatAt: Date | null;
}

export interface Health {
  status: HealthStatus;
  checkedAt: Date;
  database: { reachable: boolean; latencyMs: number | null };
  /** Null when the database does not answer (as are the two below). */
  migrations: (MigrationStatus & { current: boolean }) | null;
  schedulers: ProcessHealth | null;
  workers: ProcessHealth | null;
}

/** Longest wait for the database: a health check must answer even when the database hangs. */
const DATABASE_TIMEOUT_MS = 5_000;

/** Checks the platform through `pool`. Never throws for an unreachable database: that is a finding. */
export async function checkHealth(pool: Pool, opts: { lostWorkerTimeoutMs: number; migrationsDir?: string }): Promise<Health> {
  const checkedAt = new Date();
  const began = performance.now();
  let status: MigrationStatus;
  try {
    status = await withTimeout(migrationStatus(pool, opts.migrationsDir), DATABASE_TIMEOUT_MS);
  } catch {
    // Refused, dropped or hanging: the database cannot serve (a health check reports, it does not fail).
    return { status: 'unhealthy', checkedAt, database: { reachable: false, latencyMs: null }, migrations: null, schedulers: null, workers: null };
  }
  const latencyMs = performance.now() - began;
  const current = status.pending.length === 0 && status.failed.length === 0 && status.unknown.length === 0;
  // A database behind this code may lack the tables: its processes are then unknown (null).
  const count = (statement: 'count_live_schedulers' | 'count_live_workers') =>
    withTimeout(sql<{ live: number; latest_heartbeat_at: Date | null }>(pool, statement, [opts.lostWorkerTimeoutMs]), DATABASE_TIMEOUT_MS).then(
      ([row]) => ({ alive: row!.live, latestHeartbeatAt: row!.latest_heartbeat_at }),
      () => null,
    );
  const [schedulers, workers] = await Promise.all([count('count_live_schedulers'), count('count_live_workers')]);
  const healthy = current && (schedulers?.alive ?? 0) > 0 && (workers?.alive ?? 0) > 0;
  return {
    status: healthy ? 'healthy' : 'degraded',
    checkedAt,
    database: { reachable: true, latencyMs },
    migrations: { ...status, current },
    schedulers,
    workers,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
