import type { Pool as PgPool } from 'pg';
import { CAPACITY_NAME, CAPACITY_NAME_RULE, MAX_POOL_SLOTS } from '../dags/structure.js';
import { badInput, notFound } from '../errors.js';
import { admitInTransaction, DEFAULT_POOL } from './capacity.js';

/**
 * Pools as operators manage them (`updraft pools`, the API's `setPool` / `deletePool`).
 * Admission (capacity.ts) reads the same rows under their locks.
 */

/** A pool as stored, with what its task instances hold now. */
export interface PoolState {
  name: string;
  /** null: unlimited. */
  slots: number | null;
  description: string | null;
  /** Slots held by its instances that are queued or running. */
  occupiedSlots: number;
  runningSlots: number;
  queuedSlots: number;
  /** Instances waiting for its slots (gated, not yet admitted). */
  waitingInstances: number;
}

/** Longest pool description. */
export const MAX_POOL_DESCRIPTION = 1_000;

export function checkPoolName(name: string): void {
  if (!CAPACITY_NAME.test(name)) throw badInput(`${JSON.stringify(name.slice(0, 120))} is not a pool name: pool names ${CAPACITY_NAME_RULE.replace('must be', 'are')}`);
}

/**
 * Creates or changes a pool. `slots` null makes it unlimited. Instances waiting for it are
 * admitted at once if it now has room. Changing a pool's size never stops what runs: a
 * pool made smaller than what it holds admits nothing until enough has ended.
 */
export async function setPool(db: PgPool, input: { name: string; slots: number | null; description?: string | null }): Promise<void> {
  checkPoolName(input.name);
  if (input.slots !== null && (!Number.isInteger(input.slots) || input.slots < 0 || input.slots > MAX_POOL_SLOTS)) {
    throw badInput(`slots must be a whole number from 0 to ${MAX_POOL_SLOTS.toLocaleString('en')} (or null: unlimited), got ${input.slots}`);
  }
  if (input.description && input.description.length > MAX_POOL_DESCRIPTION) throw badInput(`description has ${input.description.length} characters; the limit is ${MAX_POOL_DESCRIPTION}`);
  if (input.description?.includes('\u0000')) throw badInput('description contains a NUL character (\\u0000)');
  await db.query(
    `INSERT INTO pool (name, slots, description) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, description = coalesce($3, pool.description), updated_at = now()`,
    [input.name, input.slots, input.description ?? null],
  );
  await admitInTransaction(db, { pools: [input.name], dagIds: [] });
}

/**
 * Deletes a pool. `default_pool` cannot be deleted (set it unlimited instead). Instances
 * of a deleted pool that are queued or running go on; those waiting for it wait on, saying
 * that it does not exist, until it is set again.
 */
export async function deletePool(db: PgPool, name: string): Promise<void> {
  checkPoolName(name);
  if (name === DEFAULT_POOL) throw badInput(`${DEFAULT_POOL} cannot be deleted; make it unlimited instead (\`updraft pools set ${DEFAULT_POOL} unlimited\`)`);
  const { rowCount } = await db.query(`DELETE FROM pool WHERE name = $1`, [name]);
  if (rowCount === 0) throw notFound(`Pool "${name}" does not exist`);
}

/** What pools hold: each named one's slot use (gated instances only; see capacity.ts). */
export async function poolUsage(db: PgPool, names: string[]): Promise<Map<string, Omit<PoolState, 'name' | 'slots' | 'description'>>> {
  const { rows } = await db.query<{ pool: string; running: number; queued: number; waiting: number }>(
    `SELECT pool,
            coalesce(sum(pool_slots) FILTER (WHERE state = 'running'), 0)::int AS running,
            coalesce(sum(pool_slots) FILTER (WHERE state = 'queued'), 0)::int AS queued,
            (count(*) FILTER (WHERE state NOT IN ('queued', 'running')))::int AS waiting
     FROM task_instance
     WHERE pool = ANY($1) AND gated AND state IN ('queued', 'running', 'scheduled', 'up_for_retry', 'up_for_reschedule')
     GROUP BY pool`,
    [names],
  );
  const usage = new Map(names.map((n) => [n, { occupiedSlots: 0, runningSlots: 0, queuedSlots: 0, waitingInstances: 0 }]));
  for (const r of rows) usage.set(r.pool, { occupiedSlots: r.running + r.queued, runningSlots: r.running, queuedSlots: r.queued, waitingInstances: r.waiting });
  return usage;
}

/** A task instance as waitingReason() reads it. */
export interface WaitingInstance {
  state: string;
  gated: boolean;
  pool: string;
  poolSlots: number;
  queue: string;
  nextTryAt: Date | null;
  dagId: string;
}

/**
 * Why a task instance that may run has not started, for people: the limits a gated one
 * waits for, or the queue no live worker serves. Null when nothing holds it back but a free
 * worker slot (or it is not waiting at all).
 */
export async function waitingReason(db: PgPool, ti: WaitingInstance, lostWorkerTimeoutMs: number): Promise<string | null> {
  const due = ti.nextTryAt === null || ti.nextTryAt.getTime() <= Date.now();
  if (ti.gated && (ti.state === 'scheduled' || ((ti.state === 'up_for_retry' || ti.state === 'up_for_reschedule') && due))) {
    const { rows } = await db.query<{ exists: boolean; slots: number | null; max_active_tasks: number | null }>(
      `SELECT p.name IS NOT NULL AS exists, p.slots, d.max_active_tasks
       FROM dag d LEFT JOIN pool p ON p.name = $2 WHERE d.id = $1`,
      [ti.dagId, ti.pool],
    );
    const row = rows[0];
    const reasons: string[] = [];
    if (!row?.exists) reasons.push(`pool "${ti.pool}", which does not exist (create it: \`updraft pools set ${ti.pool} SLOTS\`)`);
    else if (row.slots !== null) {
      const used = (await poolUsage(db, [ti.pool])).get(ti.pool)!.occupiedSlots;
      reasons.push(`${ti.poolSlots === 1 ? 'a free slot' : `${ti.poolSlots} free slots`} in pool "${ti.pool}" (${used} of its ${row.slots} in use)`);
    }
    if (row?.max_active_tasks != null) reasons.push(`fewer than ${row.max_active_tasks} task instances of DAG "${ti.dagId}" queued or running (its maxActiveTasks)`);
    return reasons.length > 0 ? `waiting for ${reasons.join(' and ')}` : 'waiting for admission';
  }
  if (ti.state === 'queued') {
    const { rows } = await db.query(
      `SELECT 1 FROM worker WHERE stopped_at IS NULL AND last_heartbeat_at > now() - make_interval(secs => $2::float8 / 1000) AND $1 = ANY(queues) LIMIT 1`,
      [ti.queue, lostWorkerTimeoutMs],
    );
    if (rows.length === 0) return `waiting for a worker serving queue "${ti.queue}": no live worker does (start one: \`updraft worker --queues ${ti.queue}\`)`;
  }
  return null;
}
