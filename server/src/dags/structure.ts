import type { MapSpec, RawDagStructure, TaskKind } from '@updraft/sdk';
import { z } from 'zod';
import { assetConditionSchema, assetUriSchema, type AssetConditionSpec } from '../assets/condition.js';
import { webhookOptionsSchema, type WebhookStructure } from '../api/webhook-signature.js';
import { TRIGGER_RULES, type TriggerRule } from '../executor/trigger-rules.js';
import { durationMs, memoryMb } from './duration.js';
import { paramsSchemaProblem } from './params.js';
import { scheduleProblem } from './timetable.js';
import { timezoneProblem } from './timezone.js';
import { effectiveWeights, MAX_WEIGHT, MIN_WEIGHT } from './priority-weights.js';

/**
 * A validated DAG structure with every default filled in: what a DagVersion stores and
 * what the executor, the API and (later) the scheduler read.
 */
export interface DagStructure {
  /**
   * 2: tasks carry `isolation` and `memoryLimitMb`; 3: trigger rules other than
   * `all_success`, and `failRunOnAnyFailure`; 4: mapped tasks, `maxMapLength` and
   * `maxActiveTisPerTask`. versions/loadStructure() upgrades older ones.
   */
  format: 4;
  id: string;
  /** The DAG file, relative to the deployed folder. */
  fileName: string;
  description: string | null;
  schedule: string | null;
  tags: string[];
  /** Fail a run when any task instance failed, not only a leaf (Airflow's rule). */
  failRunOnAnyFailure: boolean;
  /** JSON Schema of the run's params (an object schema), or null. */
  paramsSchema: object | null;
  /** Most task instances of the DAG queued or running at once, across its runs (absent: no limit). */
  maxActiveTasks?: number;
  /** Days the DAG's history is kept (`DagOptions.retention.days`); absent: the platform's policy. */
  retentionDays?: number;
  /** Deployed paused the first time (`DagOptions.pausedOnCreation`); absent: false. */
  pausedOnCreation?: boolean;
  /** The DAG's run callbacks (absent: none). */
  runCallbacks?: Array<'onSuccess' | 'onFailure'>;
  /**
   * Scheduling options (DagOptions); absent in structures stored before they existed, and
   * when left at their defaults: `timezone` UTC, no `startDate`/`endDate` (ISO text),
   * `catchup` false, `maxActiveRuns` 16. The `dag` row holds them too, for the scheduler.
   */
  timezone?: string;
  startDate?: string;
  endDate?: string;
  catchup?: boolean;
  maxActiveRuns?: number;
  /** What an asset-scheduled DAG waits for (`schedule` is then null). Absent: not asset-scheduled. */
  assetSchedule?: AssetConditionSpec;
  /** Signature checks of `POST /api/dags/<id>/trigger`. Absent: none (bearer tokens only). */
  webhook?: WebhookStructure;
  tasks: TaskStructure[];
}

export interface TaskStructure {
  id: string;
  upstreamIds: string[];
  downstreamIds: string[];
  args: RawDagStructure['tasks'][number]['args'];
  triggerRule: TriggerRule;
  retries: number;
  retryDelayMs: number;
  retryExponentialBackoff: boolean;
  maxRetryDelayMs: number;
  timeoutMs: number | null;
  isolation: 'process' | 'none';
  /** null: the worker's default. */
  memoryLimitMb: number | null;
  /** Absent: a plain task. See RawTaskStructure.kind in the SDK. */
  kind?: TaskKindStructure;
  /** Full id of the task group it belongs to, if any. */
  groupId?: string;
  /** Its callbacks (absent: none). */
  callbacks?: TaskCallbackName[];
  /** Present for a mapped task: what it maps over (see RawTaskStructure.map in the SDK). */
  map?: MapSpec;
  /** Most instances the task may be mapped into. */
  maxMapLength: number;
  /** Most instances of the mapped task that run at once in one run; null: no cap. */
  maxActiveTisPerTask: number | null;
  /**
   * Who answers for the task (TaskPolicy.owner, from the task, its group or the DAG's
   * defaultArgs). Absent: nobody said, and in structures stored before owners existed.
   */
  owner?: string;
  /** URIs of the assets a successful try updates (an asset event each). Absent: none. */
  outlets?: string[];
  /** The worker queue it runs on; absent: `default`. */
  queue?: string;
  /** The pool whose slots it takes; absent: `default_pool`. */
  pool?: string;
  /** Slots of its pool it takes; absent: 1. */
  poolSlots?: number;
  /** Its effective priority weight (its weight rule applied); absent: 1. */
  priorityWeight?: number;
}

export type TaskCallbackName = 'onSuccess' | 'onFailure' | 'onRetry' | 'onSkip';

/** RawTaskStructure.kind with durations in milliseconds. */
export type TaskKindStructure =
  | Exclude<TaskKind, { type: 'sensor' }>
  | { type: 'sensor'; mode: 'poke' | 'reschedule'; intervalMs: number; timeoutMs: number; softFail: boolean; exponentialBackoff: boolean };

/** Airflow's defaults: no retries, 5 minutes between tries, at most 24 hours with backoff. */
export const TASK_DEFAULTS = {
  retries: 0,
  retryDelayMs: 300_000,
  retryExponentialBackoff: false,
  maxRetryDelayMs: 86_400_000,
  timeoutMs: null,
  isolation: 'process',
  memoryLimitMb: null,
  maxMapLength: 100_000,
  maxActiveTisPerTask: null,
} as const;

/** The highest `maxMapLength` a task may set: expanding a task inserts that many rows in one transaction. */
export const MAX_MAP_LENGTH_LIMIT = 1_000_000;

/** The highest `maxActiveRuns` a DAG (or a backfill) may set. */
export const MAX_ACTIVE_RUNS_LIMIT = 1_000;
/** DagOptions.maxActiveRuns when absent (Airflow's default). */
export const DEFAULT_MAX_ACTIVE_RUNS = 16;

const ID = /^[A-Za-z0-9_.-]{1,250}$/;
/** What names a queue or a pool. */
export const CAPACITY_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export const CAPACITY_NAME_RULE = 'must be 1-100 letters, digits, "_", "-" or "."';
/** The most slots a pool (and so a task's poolSlots) may have. */
export const MAX_POOL_SLOTS = 1_000_000;
const idSchema = z.string().regex(ID, 'must be 1-250 letters, digits, "_", "-" or "."');

const duration = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const ms = durationMs(value as never);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration: use milliseconds or a string like "30s", "5m", "2h"` });
      return z.NEVER;
    }
    return ms;
  });

/** Longest retention a DAG may ask for (100 years): beyond it, keep it forever by other means. */
const MAX_RETENTION_DAYS = 36_500;

const policySchema = z.strictObject({
  retries: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
  retryDelay: duration.optional(),
  retryExponentialBackoff: z.boolean().optional(),
  maxRetryDelay: duration.optional(),
  timeout: duration.refine((ms) => ms > 0, 'must be more than 0').optional(),
  isolation: z.enum(['process', 'none'], 'must be "process" or "none"').optional(),
  triggerRule: z.enum(TRIGGER_RULES, `must be one of ${TRIGGER_RULES.join(', ')}`).optional(),
  memoryLimit: z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const mb = memoryMb(value);
      if (mb === undefined) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a memory size: use megabytes or a string like "512MB", "2GB"` });
        return z.NEVER;
      }
      return mb;
    })
    .optional(),
  maxMapLength: z.number().int('must be a whole number').min(1, 'must be 1 or more').max(MAX_MAP_LENGTH_LIMIT, `must be at most ${MAX_MAP_LENGTH_LIMIT.toLocaleString('en')}`).optional(),
  maxActiveTisPerTask: z.number().int('must be a whole number').min(1, 'must be 1 or more').optional(),
  owner: z.string().trim().min(1, 'must not be empty').max(100, 'must have at most 100 characters').optional(),
  queue: z.string().regex(CAPACITY_NAME, CAPACITY_NAME_RULE).optional(),
  pool: z.string().regex(CAPACITY_NAME, CAPACITY_NAME_RULE).optional(),
  poolSlots: z.number().int('must be a whole number').min(1, 'must be 1 or more').max(MAX_POOL_SLOTS, `must be at most ${MAX_POOL_SLOTS.toLocaleString('en')}`).optional(),
  priorityWeight: z.number().int('must be a whole number').min(MIN_WEIGHT, `must be at least ${MIN_WEIGHT}`).max(MAX_WEIGHT, `must be at most ${MAX_WEIGHT}`).optional(),
  weightRule: z.enum(['downstream', 'upstream', 'absolute'], 'must be "downstream", "upstream" or "absolute"').optional(),
});

const argSchema = z.union([
  z.strictObject({ xcom: z.strictObject({ taskId: z.string(), key: z.string() }) }),
  z.strictObject({ value: z.unknown() }),
]);

const rawSchema = z.strictObject({
  format: z.literal(1),
  id: idSchema,
  description: z.string().nullable(),
  schedule: z.string().min(1).nullable(),
  tags: z.array(z.string()),
  defaultArgs: policySchema,
  failRunOnAnyFailure: z.boolean().optional(),
  maxActiveTasks: z.number().int('must be a whole number').min(1, 'must be 1 or more').optional(),
  params: z.unknown().optional(),
  retention: z
    .strictObject({ days: z.number().int('must be a whole number of days').min(1, 'must be at least 1 day').max(MAX_RETENTION_DAYS, `must be at most ${MAX_RETENTION_DAYS} days`) })
    .optional(),
  pausedOnCreation: z.boolean().optional(),
  tasks: z.array(
    z.strictObject({
      id: idSchema,
      upstreamIds: z.array(z.string()),
      args: z.array(argSchema),
      policy: policySchema,
      kind: z
        .discriminatedUnion('type', [
          z.strictObject({ type: z.literal('branch') }),
          z.strictObject({ type: z.literal('short_circuit'), respectTriggerRules: z.boolean() }),
          z.strictObject({ type: z.literal('latest_only') }),
          z
            .strictObject({
              type: z.literal('sensor'),
              mode: z.enum(['poke', 'reschedule'], 'must be "poke" or "reschedule"'),
              interval: duration.refine((ms) => ms > 0, 'must be more than 0'),
              timeout: duration.refine((ms) => ms > 0, 'must be more than 0'),
              softFail: z.boolean(),
              exponentialBackoff: z.boolean(),
            })
            .transform(({ interval, timeout, ...rest }) => ({ ...rest, intervalMs: interval, timeoutMs: timeout })),
        ])
        .optional(),
      groupId: idSchema.optional(),
      callbacks: z.array(z.enum(['onSuccess', 'onFailure', 'onRetry', 'onSkip'])).optional(),
      map: z
        .strictObject({
          sources: z
            .array(z.union([z.strictObject({ xcom: z.strictObject({ taskId: z.string(), key: z.string() }) }), z.strictObject({ value: z.array(z.unknown(), 'must be an array') })]))
            .min(1, 'needs at least one list to map over'),
          zip: z.boolean(),
        })
        .refine((map) => map.zip || map.sources.length === 1, 'maps over one list unless zipped')
        .optional(),
      outlets: z.array(assetUriSchema).max(100, 'may list at most 100 assets').optional(),
    }),
  ),
  callbacks: z.array(z.enum(['onSuccess', 'onFailure'])).optional(),
  timezone: z.string().optional(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
  catchup: z.boolean().optional(),
  maxActiveRuns: z.number().int('must be a whole number').min(1, 'must be 1 or more').max(MAX_ACTIVE_RUNS_LIMIT, `must be at most ${MAX_ACTIVE_RUNS_LIMIT}`).optional(),
  assetSchedule: assetConditionSchema.optional(),
  webhook: webhookOptionsSchema.optional(),
});

/** A DAG file's structure failed validation; `problems` each name the DAG and task. */
export class DagValidationError extends Error {
  override name = 'DagValidationError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Validates a structure emitted by a bundle and fills in defaults. Throws DagValidationError. */
export function validateStructure(raw: unknown, fileName: string): DagStructure {
  const parsed = rawSchema.safeParse(raw);
  if (!parsed.success) {
    const dagId = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : '?';
    throw new DagValidationError(parsed.error.issues.map((issue) => `DAG "${dagId}": ${describePath(raw, issue.path)}${issue.message}`));
  }
  const dag = parsed.data;
  const problems: string[] = [];
  const where = (taskId: string) => `DAG "${dag.id}", task "${taskId}"`;

  const seen = new Set<string>();
  for (const t of dag.tasks) {
    if (seen.has(t.id)) problems.push(`${where(t.id)}: duplicate task id; give each task a unique id`);
    seen.add(t.id);
  }
  for (const t of dag.tasks) {
    for (const up of t.upstreamIds) {
      if (!seen.has(up)) problems.push(`${where(t.id)}: depends on unknown task "${up}"`);
      if (up === t.id) problems.push(`${where(t.id)}: depends on itself`);
    }
  }
  for (const t of dag.tasks) {
    if (!t.map) continue;
    const maxMapLength = t.policy.maxMapLength ?? dag.defaultArgs.maxMapLength ?? TASK_DEFAULTS.maxMapLength;
    if (t.kind && t.kind.type !== 'sensor') problems.push(`${where(t.id)}: a ${t.kind.type.replace('_', '-')} task cannot be mapped`);
    for (const source of t.map.sources) {
      if ('xcom' in source && !t.upstreamIds.includes(source.xcom.taskId)) problems.push(`${where(t.id)}: maps over task "${source.xcom.taskId}", which is not one of its upstream tasks`);
      if ('value' in source && source.value.length > maxMapLength) {
        problems.push(`${where(t.id)}: maps over a list of ${source.value.length.toLocaleString('en')} items; maxMapLength is ${maxMapLength.toLocaleString('en')}`);
      }
    }
  }
  if (dag.params !== undefined && dag.params !== null) {
    const problem = paramsSchemaProblem(dag.params);
    if (problem) problems.push(`DAG "${dag.id}": params ${problem}`);
  }
  problems.push(...scheduleProblems(dag));
  if (problems.length === 0) {
    const cycle = findCycle(dag.tasks);
    if (cycle) problems.push(`DAG "${dag.id}": cycle between tasks ${cycle.join(' -> ')}`);
  }
  if (problems.length > 0) throw new DagValidationError(problems);

  const downstream = new Map(dag.tasks.map((t) => [t.id, [] as string[]]));
  for (const t of dag.tasks) for (const up of t.upstreamIds) downstream.get(up)!.push(t.id);
  const weights = effectiveWeights(
    dag.tasks.map((t) => {
      const policy = { ...dag.defaultArgs, ...t.policy };
      return { id: t.id, upstreamIds: t.upstreamIds, weight: policy.priorityWeight ?? 1, rule: policy.weightRule ?? 'downstream' };
    }),
  );

  return {
    format: 4,
    id: dag.id,
    fileName,
    description: dag.description,
    schedule: dag.schedule,
    tags: dag.tags,
    failRunOnAnyFailure: dag.failRunOnAnyFailure ?? false,
    paramsSchema: (dag.params as object | null | undefined) ?? null,
    ...(dag.maxActiveTasks !== undefined ? { maxActiveTasks: dag.maxActiveTasks } : {}),
    ...(dag.retention ? { retentionDays: dag.retention.days } : {}),
    ...(dag.pausedOnCreation ? { pausedOnCreation: true } : {}),
    ...(dag.callbacks?.length ? { runCallbacks: dag.callbacks } : {}),
    ...(dag.timezone !== undefined && dag.timezone !== 'UTC' ? { timezone: dag.timezone } : {}),
    ...(dag.startDate !== undefined ? { startDate: new Date(dag.startDate).toISOString() } : {}),
    ...(dag.endDate !== undefined ? { endDate: new Date(dag.endDate).toISOString() } : {}),
    ...(dag.catchup ? { catchup: true } : {}),
    ...(dag.maxActiveRuns !== undefined && dag.maxActiveRuns !== DEFAULT_MAX_ACTIVE_RUNS ? { maxActiveRuns: dag.maxActiveRuns } : {}),
    ...(dag.assetSchedule ? { assetSchedule: dag.assetSchedule } : {}),
    ...(dag.webhook ? { webhook: dag.webhook } : {}),
    tasks: dag.tasks.map((t) => {
      const policy = { ...dag.defaultArgs, ...t.policy };
      return {
        id: t.id,
        upstreamIds: [...t.upstreamIds].sort(),
        downstreamIds: downstream.get(t.id)!.sort(),
        args: t.args,
        triggerRule: policy.triggerRule ?? 'all_success',
        retries: policy.retries ?? TASK_DEFAULTS.retries,
        retryDelayMs: policy.retryDelay ?? TASK_DEFAULTS.retryDelayMs,
        retryExponentialBackoff: policy.retryExponentialBackoff ?? TASK_DEFAULTS.retryExponentialBackoff,
        maxRetryDelayMs: policy.maxRetryDelay ?? TASK_DEFAULTS.maxRetryDelayMs,
        timeoutMs: policy.timeout ?? TASK_DEFAULTS.timeoutMs,
        isolation: policy.isolation ?? TASK_DEFAULTS.isolation,
        memoryLimitMb: policy.memoryLimit ?? TASK_DEFAULTS.memoryLimitMb,
        maxMapLength: policy.maxMapLength ?? TASK_DEFAULTS.maxMapLength,
        maxActiveTisPerTask: policy.maxActiveTisPerTask ?? TASK_DEFAULTS.maxActiveTisPerTask,
        ...(t.kind ? { kind: t.kind } : {}),
        ...(t.groupId ? { groupId: t.groupId } : {}),
        ...(t.callbacks?.length ? { callbacks: t.callbacks } : {}),
        ...(t.map ? { map: t.map } : {}),
        ...(policy.owner ? { owner: policy.owner } : {}),
        ...(t.outlets?.length ? { outlets: [...new Set(t.outlets)] } : {}),
        ...(policy.queue && policy.queue !== 'default' ? { queue: policy.queue } : {}),
        ...(policy.pool && policy.pool !== 'default_pool' ? { pool: policy.pool } : {}),
        ...(policy.poolSlots && policy.poolSlots !== 1 ? { poolSlots: policy.poolSlots } : {}),
        ...(weights.get(t.id) !== 1 ? { priorityWeight: weights.get(t.id)! } : {}),
      };
    }),
  };
}

/** Task ids along one cycle (first id repeated at the end), or null for an acyclic graph. */
export function findCycle(tasks: Array<{ id: string; upstreamIds: string[] }>): string[] | null {
  // Iterative depth-first search: a 10,000-task chain would overflow a recursive one.
  const upstream = new Map(tasks.map((t) => [t.id, t.upstreamIds]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const start of tasks) {
    if (state.has(start.id)) continue;
    const path: Array<{ id: string; next: number }> = [{ id: start.id, next: 0 }];
    state.set(start.id, 'visiting');
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const ups = upstream.get(top.id) ?? [];
      if (top.next === ups.length) {
        state.set(top.id, 'done');
        path.pop();
        continue;
      }
      const up = ups[top.next++]!;
      if (state.get(up) === 'visiting') {
        const ids = path.map((p) => p.id);
        return [...ids.slice(ids.indexOf(up)), up].reverse();
      }
      if (!state.has(up)) {
        state.set(up, 'visiting');
        path.push({ id: up, next: 0 });
      }
    }
  }
  return null;
}

/** "task "x": retries: " for a zod issue path into the raw structure. */
function describePath(raw: unknown, path: PropertyKey[]): string {
  const [first, index, ...rest] = path;
  if (first === 'tasks' && typeof index === 'number') {
    const taskId = (raw as { tasks?: Array<{ id?: unknown }> }).tasks?.[index]?.id;
    const field = rest.filter((p) => p !== 'policy').join('.');
    return `task "${String(taskId)}": ${field ? `${field}: ` : ''}`;
  }
  return path.length ? `${path.join('.')}: ` : '';
}

/** What is wrong with a DAG's schedule, timezone, startDate and endDate, each naming the field. */
function scheduleProblems(dag: { id: string; schedule: string | null; timezone?: string; startDate?: string; endDate?: string }): string[] {
  const problems: string[] = [];
  const schedule = scheduleProblem(dag.schedule);
  if (schedule) problems.push(`DAG "${dag.id}": schedule: ${schedule}`);
  const timezone = dag.timezone === undefined ? null : timezoneProblem(dag.timezone);
  if (timezone) problems.push(`DAG "${dag.id}": timezone: ${timezone}`);
  const dates: Array<['startDate' | 'endDate', string | undefined]> = [
    ['startDate', dag.startDate],
    ['endDate', dag.endDate],
  ];
  for (const [field, text] of dates) {
    if (text === undefined) continue;
    // ISO 8601 with a timezone (Z or an offset), or a Date: a date without a zone would be read in the server's.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(new Date(text).getTime())) {
      problems.push(`DAG "${dag.id}": ${field}: ${JSON.stringify(text.slice(0, 64))} is not a date; give a Date or ISO 8601 text with a timezone, e.g. "2026-01-01T00:00:00Z"`);
    }
  }
  if (problems.length === 0 && dag.startDate && dag.endDate && new Date(dag.endDate) < new Date(dag.startDate)) {
    problems.push(`DAG "${dag.id}": endDate: ${dag.endDate} is before startDate ${dag.startDate}`);
  }
  return problems;
}
