// `health`: public (no token needed), so that load balancers and uptime checks can ask.
// It says whether things work, never what they hold: no names, no ids.
import type { Pool } from 'pg';
import { checkHealth, type Health, type ProcessHealth } from '../../health.js';
import { builder } from '../builder.js';

/** One check a second per database pool at most, however many callers ask: the field is public. */
const REUSE_MS = 1_000;
const recent = new WeakMap<Pool, { at: number; health: Promise<Health> }>();

function currentHealth(pool: Pool, lostWorkerTimeoutMs: number): Promise<Health> {
  const cached = recent.get(pool);
  if (cached && performance.now() - cached.at < REUSE_MS) return cached.health;
  const health = checkHealth(pool, { lostWorkerTimeoutMs });
  recent.set(pool, { at: performance.now(), health });
  return health;
}

const HealthStatus = builder.enumType('HealthStatus', {
  description: 'The platform’s state, in one word.',
  values: {
    healthy: { description: 'The database answers with this code’s schema, and at least one scheduler and one worker are alive.' },
    degraded: { description: 'The database answers, but no scheduler or no worker is alive, or its migrations are not this code’s.' },
    unhealthy: { description: 'The database does not answer.' },
  } as const,
});

const DatabaseHealth = builder.objectRef<Health['database']>('DatabaseHealth').implement({
  description: 'Whether the metadata database answers.',
  fields: (t) => ({
    reachable: t.exposeBoolean('reachable', { description: 'It answered within 5 s.' }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'How long the check’s first statement took, in milliseconds; null when unreachable.' }),
  }),
});

const MigrationHealth = builder.objectRef<NonNullable<Health['migrations']>>('MigrationHealth').implement({
  description: 'The database’s migrations compared with this code’s.',
  fields: (t) => ({
    current: t.exposeBoolean('current', { description: 'The database has exactly this code’s migrations, none failed.' }),
    applied: t.exposeInt('applied', { description: 'This code’s migrations the database has.' }),
    pending: t.int({ description: 'This code’s migrations the database lacks (starting the platform applies them).', resolve: (m) => m.pending.length }),
    failed: t.int({ description: 'Failed attempts not resolved yet: migrating is blocked until they are.', resolve: (m) => m.failed.length }),
    unknown: t.int({ description: 'Migrations the database has that this code does not know: the database is newer than the code.', resolve: (m) => m.unknown.length }),
  }),
});

const ProcessHealthType = builder.objectRef<ProcessHealth>('ProcessHealth').implement({
  description: 'Processes of one kind (schedulers, workers) as their heartbeats tell.',
  fields: (t) => ({
    alive: t.exposeInt('alive', { description: 'How many sent a heartbeat within the lost-worker timeout (30 s by default) and have not stopped.' }),
    latestHeartbeatAt: t.expose('latestHeartbeatAt', { type: 'DateTime', nullable: true, description: 'The latest heartbeat of any of them; null if none ever ran.' }),
  }),
});

const HealthType = builder.objectRef<Health>('Health').implement({
  description: 'Whether the platform can do its work: database, migrations, schedulers, workers.',
  fields: (t) => ({
    status: t.field({ type: HealthStatus, description: 'The verdict.', resolve: (h) => h.status }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime', description: 'When the checks ran (answers are reused for up to a second).' }),
    database: t.field({ type: DatabaseHealth, description: 'The metadata database.', resolve: (h) => h.database }),
    migrations: t.field({ type: MigrationHealth, nullable: true, description: 'Its schema; null when the database is unreachable.', resolve: (h) => h.migrations }),
    schedulers: t.field({
      type: ProcessHealthType,
      nullable: true,
      description: 'Scheduler processes (`updraft start`, `updraft server`, `updraft scheduler`); null when unknown (database unreachable or not migrated).',
      resolve: (h) => h.schedulers,
    }),
    workers: t.field({
      type: ProcessHealthType,
      nullable: true,
      description: 'Worker processes (`updraft start`, `updraft worker`); null when unknown.',
      resolve: (h) => h.workers,
    }),
  }),
});

builder.queryFields((t) => ({
  health: t.field({
    type: HealthType,
    description: 'Whether the platform can do its work. Public: it needs no token, and tells nothing but counts and times.',
    // The one field anonymous callers may use (Query requires `authenticated` otherwise).
    skipTypeScopes: true,
    resolve: (_root, _args, ctx) => currentHealth(ctx.pool, ctx.lostWorkerTimeoutMs),
  }),
}));
