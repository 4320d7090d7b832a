/**
 * Terminology
 *
 * - **DAG**: a set of tasks and the dependencies between them, declared with `dag()`.
 * - **Task**: a typed function declared with `task()`. Calling it inside a DAG builder
 *   adds a *task node* to the DAG and returns an `XComArg`: a reference to the value the
 *   task will return at run time.
 * - **XCom**: a value a task instance publishes; its return value is the XCom with key
 *   `return_value`. Values travel as JSON, so a task that returns a `Date` delivers a string.
 * - **DagRun**: one execution of a DAG. **TaskInstance**: one task in one DagRun.
 *   **Try**: one attempt at a task instance (`tryNumber` starts at 1).
 */
import type { Asset, AssetSchedule } from './assets.js';

/** Milliseconds, or a string such as `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** Megabytes, or a string such as `"512MB"` or `"2GB"`. */
export type MemorySize = number | `${number}${'MB' | 'GB'}`;

/**
 * Where a task's code runs. `process` (the default): in a child process of the worker,
 * without database credentials, which a crash, `process.exit()`, a runaway loop or runaway
 * memory takes down alone. `none`: in the worker process itself, for trusted code where
 * the last millisecond counts; such a task can take its worker down.
 */
export type Isolation = 'process' | 'none';

/**
 * When a task runs, given how its upstream tasks ended (Airflow's trigger rules, same
 * names and semantics). `all_success` (the default) runs once every upstream succeeded;
 * a failed upstream makes it `upstream_failed` and a skipped one `skipped`. The `one_*`
 * rules run as soon as one upstream qualifies, without waiting for the others.
 */
export type TriggerRule =
  | 'all_success'
  | 'all_failed'
  | 'all_done'
  | 'all_done_min_one_success'
  | 'all_skipped'
  | 'one_success'
  | 'one_failed'
  | 'one_done'
  | 'none_failed'
  | 'none_failed_min_one_success'
  | 'none_skipped'
  | 'always';

/** Retry, timeout and isolation policy of a task; every field may also be set in `DagOptions.defaultArgs`. */
export interface TaskPolicy {
  /** How many times a failed try is retried. Default 0. */
  retries?: number;
  /** Wait before a retry. Default `"5m"` (Airflow's default). */
  retryDelay?: Duration;
  /** Double the wait after each failed try (`retryDelay * 2^(try-1)`), capped by `maxRetryDelay`. */
  retryExponentialBackoff?: boolean;
  /** Upper bound of the wait between tries. Default `"24h"`. */
  maxRetryDelay?: Duration;
  /**
   * A try that runs longer fails with `TaskTimeout`: its `signal` is aborted, and an
   * isolated task that has not returned a few seconds later is killed. No default.
   */
  timeout?: Duration;
  /** Where the task's code runs. Default `"process"`. */
  isolation?: Isolation;
  /** When the task runs, given how its upstream tasks ended. Default `"all_success"`. */
  triggerRule?: TriggerRule;
  /**
   * Memory the task's process may use (isolated tasks only); past it the try fails with
   * `MemoryLimit`. Default: the worker's `--memory-limit` (1 GB unless set).
   */
  memoryLimit?: MemorySize;
  /**
   * Most instances a mapped task (`task.map()`) may expand into; a longer list fails the
   * task with an error naming the length. Default 100,000; at most 1,000,000.
   */
  maxMapLength?: number;
  /** Most instances of this mapped task that run at once in one run (Airflow's `max_active_tis_per_dagrun`). No default. */
  maxActiveTisPerTask?: number;
  /**
   * Who answers for the task (a person or a team), shown by the API: a task's `owner`, and a
   * DAG's `owners` (those of its tasks). Set it in `defaultArgs` for a whole DAG or group, as
   * in Airflow. No default.
   */
  owner?: string;
  /**
   * The worker queue the task runs on: only workers started with it in `--queues` take it
   * (`updraft worker --queues default,gpu`). Letters, digits, `_`, `-`, `.`. Default `"default"`.
   */
  queue?: string;
  /**
   * The pool whose slots the task takes while queued or running: across all workers, a pool
   * of N slots runs at most N slots' worth of tasks (`updraft pools set NAME SLOTS`). A task
   * in a pool that does not exist waits, saying so. Default `"default_pool"` (unlimited until
   * its slots are set).
   */
  pool?: string;
  /** How many of its pool's slots the task takes. Default 1. */
  poolSlots?: number;
  /**
   * Weight in the order tasks start when slots are short (a pool's, the DAG's
   * `maxActiveTasks`, the workers'): the highest effective weight first. Default 1.
   */
  priorityWeight?: number;
  /**
   * How the effective weight is computed (Airflow's weight rules): `downstream` (the
   * default): its own weight plus that of every task downstream of it, transitively, so that
   * a run's early tasks go first; `upstream`: plus every task upstream of it; `absolute`:
   * its own weight only.
   */
  weightRule?: WeightRule;
}

/** See `TaskPolicy.weightRule`. */
export type WeightRule = 'downstream' | 'upstream' | 'absolute';

/** What a task callback receives: the try's context, and the error that ended it, if any. */
export interface TaskCallbackContext extends TaskContext {
  error?: { name: string; message: string };
}

/**
 * Functions called when a try ends (Airflow's `on_*_callback`), in the task's own process,
 * with `context()` available; what they log goes with the try. A callback that throws is
 * logged and never changes the outcome.
 */
export interface TaskCallbacks {
  onSuccess?: (ctx: TaskCallbackContext) => unknown;
  /** The task failed for good (no retry left, or not retryable). */
  onFailure?: (ctx: TaskCallbackContext) => unknown;
  /** The try failed and the task will be tried again. */
  onRetry?: (ctx: TaskCallbackContext) => unknown;
  onSkip?: (ctx: TaskCallbackContext) => unknown;
}

/** What a DAG run callback receives. */
export interface RunCallbackContext {
  dagId: string;
  runId: string;
  dagRunId: number;
  logicalDate: Date;
  conf: Readonly<Record<string, unknown>>;
  params: Readonly<Record<string, unknown>>;
  state: 'success' | 'failed';
  /** Lines go with the try whose end ended the run. */
  log: Logger;
}

/** Options of one task. */
export interface TaskOptions extends TaskPolicy, TaskCallbacks {
  /** Task id, unique within its DAG: letters, digits, `_`, `-` and `.`. */
  id: string;
  /**
   * The assets the task updates (Airflow's outlets): each successful try records an event
   * for each of them, which runs the DAGs scheduled on them. A failed or skipped try records none.
   */
  outlets?: Asset[];
}

/** Options of a DAG. */
export interface DagOptions {
  /** DAG id, unique across the deployment: letters, digits, `_`, `-` and `.`. */
  id: string;
  description?: string;
  /**
   * When scheduled runs happen: a cron expression of 5 fields (or 6, seconds first), a
   * preset (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@quarterly`, `@yearly`, `@once`)
   * or a fixed interval (`"15m"`, `"1h"`, `"1d"`); `null` (the default) runs only when
   * triggered. Each scheduled run covers a data interval, from one tick to the next; its
   * logical date is the interval's start, and it is created once the interval has ended.
   * Or assets: `[asset(a), asset(b)]` runs once each of them has been updated since the DAG's
   * last asset-triggered run; `anyOf(a, b)` once any of them has (see `asset()`).
   */
  schedule?: string | null | AssetSchedule;
  /**
   * IANA timezone the cron expression's times are read in (`'Europe/Berlin'`); default
   * `'UTC'`. Across DST changes, a time that does not exist runs an hour later by the new
   * clock, and a time that exists twice runs once, at the second one.
   */
  timezone?: string;
  /** No scheduled interval starts before it. Default: none (with `catchup`, the first deploy). */
  startDate?: Date | string;
  /** No scheduled interval starts after it. Default: none. */
  endDate?: Date | string;
  /**
   * Create a run for every interval missed since `startDate` or the last scheduled run
   * (while paused, or while no scheduler ran). Default false: only the latest one.
   */
  catchup?: boolean;
  /** Most runs of this DAG running at once (backfills have their own limit); more wait `queued`. Default 16. */
  maxActiveRuns?: number;
  /**
   * Signed calls of `POST /api/dags/<id>/trigger`: when set, every call must carry
   * `X-Updraft-Timestamp` and `X-Updraft-Signature: sha256=<hex>`, the HMAC-SHA256 of
   * `<timestamp>.<raw body>` keyed with the secret, which is read from a variable or from a
   * connection's password. A valid signature authenticates the call (for this DAG only).
   */
  webhook?: WebhookOptions;
  /** Defaults for every task of this DAG (callbacks included); a task's own options win. */
  defaultArgs?: TaskPolicy & TaskCallbacks;
  /**
   * Called when a run ends `success` / `failed`, in the task process of the try whose end
   * ended the run (a run ended by lost-worker recovery gets no callback). A callback that
   * throws is logged with that try and never changes the run's state.
   */
  onSuccess?: (ctx: RunCallbackContext) => unknown;
  onFailure?: (ctx: RunCallbackContext) => unknown;
  /**
   * Fail a run when any task instance failed. By default a run fails only when a leaf
   * task (one without downstream tasks) ended `failed` or `upstream_failed`, as in Airflow,
   * so an `all_done` leaf such as a cleanup task hides failures before it.
   */
  failRunOnAnyFailure?: boolean;
  /**
   * Most task instances of this DAG queued or running at once, across all its runs (Airflow's
   * `max_active_tasks`); the others wait `scheduled`, the highest priority weight first. No default.
   */
  maxActiveTasks?: number;
  tags?: string[];
  /**
   * The run's parameters, as a zod object schema (or anything with zod's `toJSONSchema()`):
   * a trigger whose conf does not match is refused before a run is created, defaults fill
   * missing fields, and tasks read the result with `params()`. Stored as JSON Schema, which
   * the API shows for trigger forms.
   *
   * ```ts
   * dag({ id: 'report', params: z.object({ region: z.string(), days: z.number().int().default(7) }) }, ...)
   * ```
   */
  params?: ParamsSchema;
  /**
   * How long this DAG's history is kept: its runs (with their task instances, tries, XCom and
   * logs) and its audit rows are deleted by the platform's retention once older than `days`,
   * instead of after the platform's default (30 days). The latest run is always kept.
   */
  retention?: DagRetention;
  /**
   * Deploy the DAG paused the first time it is deployed (Airflow's `is_paused_upon_creation`),
   * so that it runs only once someone unpauses it. Later deploys keep whatever it is now.
   */
  pausedOnCreation?: boolean;
}

/** A DAG's retention (`DagOptions.retention`). */
export interface DagRetention {
  /** Days its runs, logs, XCom and audit rows are kept: a whole number from 1 to 36,500. */
  days: number;
}

/** How a DAG's webhook checks signatures (`DagOptions.webhook`). */
export interface WebhookOptions {
  /** Where the shared secret is kept: a variable (best a secret one) or a connection's password. */
  secret: { variable: string } | { connection: string };
  /** How far `X-Updraft-Timestamp` may be from the server's clock, in seconds. Default 300 (5 minutes). */
  toleranceSeconds?: number;
}

/** What `DagOptions.params` takes: a zod schema (zod 4), or anything that describes itself as JSON Schema. */
export interface ParamsSchema {
  toJSONSchema(options?: { io?: 'input' | 'output' }): unknown;
}

/** Structured logger of a running try; lines are stored with the try and shown with it. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a running task can know about itself; returned by `context()`. */
export interface TaskContext {
  dagId: string;
  /** The run's readable id, e.g. `manual__2026-11-27T10:00:00.000Z`. */
  runId: string;
  /** The run's numeric id, as used by the API. */
  dagRunId: number;
  taskId: string;
  /** -1 unless the task instance is one of a mapped task's instances. */
  mapIndex: number;
  /** 1 for the first try. */
  tryNumber: number;
  maxTries: number;
  /** The start of the run's data interval (Airflow's logical date). */
  logicalDate: Date;
  /**
   * The run's data interval: the span of time it processes. A scheduled run's interval is
   * the one between two ticks of the schedule, and the run starts once it has ended; a
   * manual run gets the latest interval that has ended when it is triggered (an instant,
   * start = end, for DAGs without a schedule).
   */
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
  /** The JSON object the run was triggered with. */
  conf: Readonly<Record<string, unknown>>;
  /** The run's params: `conf` checked against the DAG's `params` schema, with its defaults (just `conf` without one). */
  params: Readonly<Record<string, unknown>>;
  log: Logger;
  /** Aborted when the try times out or the worker shuts down. */
  signal: AbortSignal;
  /**
   * The same on every try of this task instance, and different for every other task
   * instance and run: pass it to external systems so that a retried try does not repeat
   * a side effect (task code runs at least once; see ARCHITECTURE.md).
   */
  idempotencyKey: string;
}

/**
 * What a task's return value is when it arrives downstream: the same value (XCom keeps
 * `Date`, `Map`, `Set`, `BigInt`, `undefined`, `RegExp`, `URL`, typed arrays, `NaN`, `-0`,
 * strings with NUL, repeated and cyclic references), with a `Buffer` arriving as a
 * `Uint8Array`. `never` when a part of it cannot be stored (a function, a symbol, or a class
 * instance with methods): such a task fails with `ResultNotStorable`, so nothing arrives.
 * (A class instance without methods looks like a plain object to the type system, but fails
 * too: return plain objects.)
 */
export type Serialized<T> = false extends Storable<Awaited<T>> ? never : Arrives<Awaited<T>>;

/** Values XCom keeps as they are. */
type KeptAsIs = string | number | boolean | null | undefined | void | bigint | Date | RegExp | URL | URLSearchParams | ArrayBuffer | DataView;
type TypedArray =
  | Int8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** `true` for each part of T that can be stored, `false` for each that cannot. */
type Storable<T> = T extends KeptAsIs | Uint8Array | TypedArray
  ? true
  : T extends (...args: never[]) => unknown
    ? false
    : T extends symbol
      ? false
      : T extends Map<infer K, infer V>
        ? Storable<K> | Storable<V>
        : T extends Set<infer V>
          ? Storable<V>
          : T extends readonly (infer E)[]
            ? Storable<E>
            : T extends object
              ? Storable<T[keyof T]>
              : false;

/** T as it arrives (given it is storable). */
type Arrives<T> = T extends KeptAsIs | TypedArray
  ? T
  : T extends Uint8Array
    ? Uint8Array
    : T extends Map<infer K, infer V>
      ? Map<Arrives<K>, Arrives<V>>
      : T extends Set<infer V>
        ? Set<Arrives<V>>
        : T extends object
          ? { [K in keyof T]: Arrives<T[K]> }
          : T;
