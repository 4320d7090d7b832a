import { runWithContext } from './context.js';
import type { Jsonify } from 'type-fest';
import type {
  DagOptions,
  Duration,
  RunCallbackContext,
  Serialized,
  TaskCallbackContext,
  TaskCallbacks,
  TaskContext,
  TaskOptions,
  TaskPolicy,
} from './interfaces.js';

const TASK_CALLBACKS = ['onSuccess', 'onFailure', 'onRetry', 'onSkip'] as const satisfies ReadonlyArray<keyof TaskCallbacks>;
const RUN_CALLBACKS = ['onSuccess', 'onFailure'] as const;
import { assetConditionSpec, isAsset, isAssetSchedule } from './assets.js';
import { mapSpecOf, type MapItems } from './mapping.js';
import type { ArgSpec, MapSpec, RawDagStructure, TaskKind } from './structure.js';
import { XComArg, isXComArg } from './xcom-arg.js';

const DAG = Symbol.for('@updraft/sdk/Dag');

type AnyFn = (...args: never[]) => unknown;

interface TaskNode {
  id: string;
  definition: { options: TaskOptions; fn: AnyFn; kind: TaskKind | undefined };
  upstreamIds: Set<string>;
  args: ArgSpec[];
  /** What it maps over, for a node declared with `task.map()`. */
  map: MapSpec | undefined;
  /** The innermost group it was declared in. */
  group: GroupFrame | undefined;
}

interface GroupFrame {
  /** Full id: the ids of the enclosing groups and its own, joined with `.`. */
  id: string;
  /** Its defaultArgs over those of the enclosing groups. */
  defaultArgs: TaskPolicy & TaskCallbacks;
  nodes: TaskNode[];
}

/** A declared DAG. Export it from a DAG file (default or named export). */
export class Dag {
  declare readonly [DAG]: true;
  readonly #nodes = new Map<string, TaskNode>();
  readonly #duplicates: TaskNode[] = [];
  readonly #calls = new Map<string, number>();
  readonly #groups: GroupFrame[] = [];
  readonly #groupIds = new Set<string>();

  /** @internal use `dag()` */
  constructor(readonly options: DagOptions) {
    Object.defineProperty(this, DAG, { value: true });
  }

  get id(): string {
    return this.options.id;
  }

  /** Ids of the task nodes, in declaration order. */
  get taskIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** @internal Emits the structure the platform validates and stores at deploy. */
  toStructure(): RawDagStructure {
    const nodes = [...this.#nodes.values(), ...this.#duplicates];
    const runCallbacks = RUN_CALLBACKS.filter((name) => typeof this.options[name] === 'function');
    const { schedule } = this.options;
    const assetSchedule = isAssetSchedule(schedule) ? assetConditionSpec(schedule) : undefined;
    return {
      format: 1,
      id: this.options.id,
      description: this.options.description ?? null,
      schedule: assetSchedule ? null : ((schedule as string | null | undefined) ?? null),
      ...(assetSchedule ? { assetSchedule } : {}),
      ...(this.options.webhook ? { webhook: this.options.webhook } : {}),
      tags: this.options.tags ?? [],
      defaultArgs: withoutCallbacks(this.options.defaultArgs ?? {}),
      ...(runCallbacks.length > 0 ? { callbacks: runCallbacks } : {}),
      failRunOnAnyFailure: this.options.failRunOnAnyFailure ?? false,
      ...(this.options.timezone !== undefined ? { timezone: this.options.timezone } : {}),
      ...(this.options.startDate !== undefined ? { startDate: isoText(this.options.startDate) } : {}),
      ...(this.options.endDate !== undefined ? { endDate: isoText(this.options.endDate) } : {}),
      ...(this.options.catchup !== undefined ? { catchup: this.options.catchup } : {}),
      ...(this.options.maxActiveRuns !== undefined ? { maxActiveRuns: this.options.maxActiveRuns } : {}),
      ...(this.options.maxActiveTasks !== undefined ? { maxActiveTasks: this.options.maxActiveTasks } : {}),
      params: this.options.params ? this.options.params.toJSONSchema({ io: 'input' }) : null,
      ...(this.options.retention !== undefined ? { retention: this.options.retention } : {}),
      ...(this.options.pausedOnCreation !== undefined ? { pausedOnCreation: this.options.pausedOnCreation } : {}),
      tasks: nodes.map((node) => ({
        id: node.id,
        upstreamIds: [...node.upstreamIds],
        args: node.args,
        policy: withoutCallbacks({ ...node.group?.defaultArgs, ...withoutKey(withoutId(node.definition.options), 'outlets') }),
        ...(node.definition.options.outlets?.length ? { outlets: outletUris(node.definition.options.id, node.definition.options.outlets) } : {}),
        ...(node.definition.kind ? { kind: node.definition.kind } : {}),
        ...(node.group ? { groupId: node.group.id } : {}),
        ...(this.#callbacksOf(node).length > 0 ? { callbacks: this.#callbacksOf(node).map(([name]) => name) } : {}),
        ...(node.map ? { map: node.map } : {}),
      })),
    };
  }

  /** @internal Runs one task node's function with resolved arguments. */
  async runTask(taskId: string, args: unknown[], ctx: TaskContext): Promise<unknown> {
    const node = this.#nodes.get(taskId);
    if (!node) throw new Error(`DAG "${this.id}" has no task "${taskId}" in this bundle.`);
    const fn = node.definition.fn as (...args: unknown[]) => unknown;
    return await runWithContext(ctx, () => fn(...args));
  }

  /** @internal Runs a task's callback (`onSuccess`…) with the try's context; its result is ignored. */
  async runCallback(taskId: string, name: keyof TaskCallbacks, ctx: TaskCallbackContext): Promise<void> {
    const node = this.#nodes.get(taskId);
    if (!node) throw new Error(`DAG "${this.id}" has no task "${taskId}" in this bundle.`);
    const callback = this.#callbacksOf(node).find(([n]) => n === name)?.[1];
    if (callback) await runWithContext(ctx, () => callback(ctx));
  }

  /** @internal Runs the DAG's run callback for `ctx.state`. */
  async runDagCallback(ctx: RunCallbackContext): Promise<void> {
    const callback = ctx.state === 'success' ? this.options.onSuccess : this.options.onFailure;
    await callback?.(ctx);
  }

  /** A node's callbacks: its own, else its groups', else the DAG's defaultArgs'. */
  #callbacksOf(node: TaskNode): Array<[keyof TaskCallbacks, NonNullable<TaskCallbacks[keyof TaskCallbacks]>]> {
    const effective = { ...this.options.defaultArgs, ...node.group?.defaultArgs, ...node.definition.options };
    return TASK_CALLBACKS.flatMap((name) => {
      const callback = effective[name];
      return typeof callback === 'function' ? [[name, callback] as [keyof TaskCallbacks, NonNullable<TaskCallbacks[keyof TaskCallbacks]>]] : [];
    });
  }

  /** @internal `items`: what a `.map()` call maps over (undefined: a plain call). */
  addNode(definition: TaskNode['definition'], args: unknown[], items?: unknown): string {
    const group = this.#groups.at(-1);
    const baseId = group ? `${group.id}.${definition.options.id}` : definition.options.id;
    // Calls of one task are numbered per group; two tasks declared with one id stay a duplicate.
    const callKey = `${definitionKey(definition)}\0${baseId}`;
    const taken = this.#calls.get(callKey) ?? 0;
    this.#calls.set(callKey, taken + 1);
    const id = taken === 0 ? baseId : `${baseId}__${taken}`;
    const node: TaskNode = { id, definition, upstreamIds: new Set(), args: [], map: undefined, group };
    if (items !== undefined) {
      const { spec, upstreamIds } = mapSpecOf(definition.options.id, items);
      node.map = spec;
      for (const upstreamId of upstreamIds) node.upstreamIds.add(upstreamId);
    }
    for (const frame of this.#groups) frame.nodes.push(node);
    for (const arg of args) {
      if (isXComArg(arg)) {
        node.upstreamIds.add(arg.taskId);
        node.args.push({ xcom: { taskId: arg.taskId, key: arg.key } });
      } else {
        node.args.push({ value: arg === undefined ? null : JSON.parse(JSON.stringify(arg)) });
      }
    }
    if (this.#nodes.has(id)) this.#duplicates.push(node);
    else this.#nodes.set(id, node);
    return id;
  }

  /** @internal */
  addUpstream = (taskId: string, upstreamId: string): void => {
    this.#nodes.get(taskId)?.upstreamIds.add(upstreamId);
  };

  /** @internal Runs `build` with task nodes declared inside the group `id`. */
  inGroup<T>(options: GroupOptions, build: () => T): { frame: GroupFrame; output: T } {
    const outer = this.#groups.at(-1);
    const frame: GroupFrame = { id: outer ? `${outer.id}.${options.id}` : options.id, defaultArgs: { ...outer?.defaultArgs, ...options.defaultArgs }, nodes: [] };
    if (this.#groupIds.has(frame.id)) throw new TypeError(`group("${frame.id}") is declared twice in dag("${this.id}"): give each group a unique id.`);
    this.#groupIds.add(frame.id);
    this.#groups.push(frame);
    try {
      return { frame, output: build() };
    } finally {
      this.#groups.pop();
    }
  }
}

const definitionKeys = new WeakMap<TaskNode['definition'], number>();
let definitionsSeen = 0;

/** A number per task definition, to count its calls by. */
function definitionKey(definition: TaskNode['definition']): number {
  let key = definitionKeys.get(definition);
  if (key === undefined) definitionKeys.set(definition, (key = ++definitionsSeen));
  return key;
}

export function isDag(value: unknown): value is Dag {
  return typeof value === 'object' && value !== null && (value as { [DAG]?: unknown })[DAG] === true;
}

/**
 * The DAG whose builder is running, kept on `globalThis` under a registered symbol so that every
 * copy of the SDK in the process shares it: a plugin that brings its own copy of the SDK still
 * declares its operators' tasks into the DAG being built.
 */
const BUILDING = Symbol.for('@updraft/sdk/building');
const builderState = globalThis as { [BUILDING]?: Dag | null };

/**
 * Declares a DAG. `build` runs once, at load time: inside it, call tasks to add
 * task nodes; passing one node's output to another task declares the edge.
 *
 * ```ts
 * export default dag({ id: 'hello_world' }, () => {
 *   sayHi(readyHi(makeHi()));
 * });
 * ```
 */
export function dag(options: DagOptions, build: () => void): Dag {
  const outer = builderState[BUILDING];
  if (outer) {
    throw new TypeError(`dag("${options.id}") was declared inside the builder of dag("${outer.id}"): declare DAGs at the top level of a file.`);
  }
  const declared = new Dag(options);
  builderState[BUILDING] = declared;
  try {
    build();
  } finally {
    builderState[BUILDING] = null;
  }
  return declared;
}

/**
 * Arguments of a task call: each an upstream's output of the parameter's type, or a
 * literal value. Literals travel as JSON too, so one is accepted only when JSON keeps its
 * type (a `Date` literal would arrive as a string: declare the parameter as `string`).
 */
export type TaskArgs<A extends unknown[]> = { [K in keyof A]: JsonSafe<A[K]> | XComArg<A[K]> };

type JsonSafe<T> = Jsonify<T> extends T ? T : never;

/** The parameters after the first. */
type RestOf<A extends unknown[]> = A extends [unknown?, ...infer Rest] ? Rest : [];

/** A declared task. Call it inside a `dag()` builder to add a node to that DAG. */
export interface Task<A extends unknown[], R> {
  (...args: TaskArgs<A>): XComArg<Serialized<R>>;
  /**
   * Dynamic task mapping (Airflow's `.partial().expand()`): adds a node that runs once per
   * item of `items`, each instance receiving its item as the first argument and `rest` as
   * the others. `items` is a literal array, an upstream task's array output, another
   * mapped task's output, or `zip(...)`; an upstream's list is read when that upstream has
   * ended, so the number of instances is decided at run time. An empty list skips the task.
   * The output is the list of the instances' values, in item order (an instance that ended
   * without a value, such as a skipped one, has none in it): pass it to a task that takes
   * an array (a reduce), or map over it again.
   *
   * ```ts
   * const double = task('double', (n: number, factor: number) => n * factor);
   * const total = task('total', (values: number[]) => values.reduce((a, b) => a + b, 0));
   * total(double.map(numbers(), 2));
   * ```
   */
  map(items: A extends [] ? never : MapItems<A[0]>, ...rest: TaskArgs<RestOf<A>>): XComArg<Array<Serialized<R>>>;
  readonly id: string;
  readonly options: TaskOptions;
}

/**
 * Declares a task: a function that runs on a worker. Its return value is published as
 * XCom and delivered to the tasks that receive its output.
 *
 * ```ts
 * const makeHi = task('make_hi', () => 'hi');
 * const shout = task({ id: 'shout', retries: 2 }, (text: string) => text.toUpperCase());
 * ```
 */
export function task<A extends unknown[], R>(idOrOptions: string | TaskOptions, fn: (...args: A) => R): Task<A, R> {
  return declare('task', undefined, idOrOptions, fn);
}

/** What a branch returns: the id(s) of the direct downstream task(s) to follow, or null for none. */
export type BranchChoice = string | string[] | null;

/**
 * Declares a branch (Airflow's `@task.branch`): a task whose return value names the direct
 * downstream task(s) to follow. The other direct downstream tasks are skipped, and what
 * follows them is decided by their trigger rules (a join after two branches usually wants
 * `none_failed_min_one_success`). Naming a task that is not a direct downstream task fails.
 *
 * ```ts
 * const pick = branch('pick', (n: number) => (n > 10 ? 'big' : 'small'));
 * ```
 */
export function branch<A extends unknown[]>(idOrOptions: string | TaskOptions, fn: (...args: A) => BranchChoice | Promise<BranchChoice>): Task<A, BranchChoice> {
  return declare('branch', { type: 'branch' }, idOrOptions, fn);
}

/** Options of a short-circuit task. */
export interface ShortCircuitOptions extends TaskOptions {
  /**
   * `false` (default): a falsy return skips every task downstream, whatever their trigger
   * rules. `true`: it skips the direct downstream tasks only, and trigger rules decide the rest.
   */
  respectTriggerRules?: boolean;
}

/**
 * Declares a short-circuit task (Airflow's `@task.short_circuit`): a falsy return value
 * (`false`, `0`, `""`, `null`, `undefined`, `[]`, `{}`) skips what follows; a truthy one
 * lets the run go on and is published like any task's value.
 */
export function shortCircuit<A extends unknown[], R>(idOrOptions: string | ShortCircuitOptions, fn: (...args: A) => R): Task<A, R> {
  const respectTriggerRules = typeof idOrOptions === 'object' && idOrOptions.respectTriggerRules === true;
  const options = typeof idOrOptions === 'string' ? { id: idOrOptions } : withoutKey(idOrOptions, 'respectTriggerRules');
  return declare('shortCircuit', { type: 'short_circuit', respectTriggerRules }, options, fn);
}

/** Options of a sensor. */
export interface SensorOptions extends TaskOptions {
  /**
   * `poke` (default) keeps its worker slot and checks every `interval`; `reschedule` ends
   * the try between checks (`up_for_reschedule`), freeing the slot: for long waits.
   * Reschedules are not retries and do not use up `retries`.
   */
  mode?: 'poke' | 'reschedule';
  /** Time between checks. Default `"60s"` (Airflow's poke_interval). */
  interval?: Duration;
  /** Give up this long after the first check: fail without retry, or skip with `softFail`. Default `"7d"`. */
  timeout?: Duration;
  /** On timeout, end `skipped` instead of `failed`. */
  softFail?: boolean;
  /** Double the interval after each check that found nothing. */
  exponentialBackoff?: boolean;
}

/**
 * Declares a sensor (Airflow's `@task.sensor`): `fn` is a check that returns a falsy value
 * while the awaited condition does not hold yet, and a truthy one when it does (published
 * as the sensor's value, like a task's return value).
 *
 * ```ts
 * const fileReady = sensor({ id: 'file_ready', mode: 'reschedule', interval: '30s', timeout: '2h' }, (path: string) => existsSync(path) && path);
 * ```
 */
export function sensor<A extends unknown[], R>(options: SensorOptions, fn: (...args: A) => R): Task<A, Found<R>> {
  const { mode = 'poke', interval = '60s', timeout = '7d', softFail = false, exponentialBackoff = false, ...taskOptions } = options;
  return declare('sensor', { type: 'sensor', mode, interval, timeout, softFail, exponentialBackoff }, taskOptions, fn) as unknown as Task<A, Found<R>>;
}

/** What a sensor publishes: only a truthy value ends it, so the falsy ones are not in its type. */
export type Found<R> = Exclude<Awaited<R>, false | 0 | '' | null | undefined | void>;

/**
 * Adds a node (Airflow's `LatestOnlyOperator`, id `latest_only`) that lets what follows it
 * run only in the latest scheduled run: in a run for an older schedule tick (one created by
 * catching up or a backfill) its downstream tasks are skipped. Manual runs always pass.
 *
 * ```ts
 * notify().after(latestOnly());
 * ```
 */
export function latestOnly(idOrOptions: string | TaskOptions = 'latest_only'): XComArg<null> {
  return declare('latestOnly', { type: 'latest_only' }, idOrOptions, () => null)() as unknown as XComArg<null>;
}

function declare<A extends unknown[], R>(what: string, kind: TaskKind | undefined, idOrOptions: string | TaskOptions, fn: (...args: A) => R): Task<A, R> {
  const options: TaskOptions = typeof idOrOptions === 'string' ? { id: idOrOptions } : idOrOptions;
  if (typeof fn !== 'function') {
    throw new TypeError(`${what}("${options.id}") needs a function as its second argument.`);
  }
  const definition = { options, fn: fn as AnyFn, kind };
  const add = (args: unknown[], items?: unknown): XComArg<never> => {
    const owner = builderState[BUILDING];
    if (!owner) {
      throw new TypeError(`Task "${options.id}" was called outside a dag() builder: call tasks inside dag({ id }, () => { ... }).`);
    }
    const nodeId = owner.addNode(definition, args, items);
    return new XComArg<never>(nodeId, 'return_value', owner.addUpstream);
  };
  const call = (...args: unknown[]) => add(args);
  const map = (items: unknown, ...rest: unknown[]) => {
    if (items === undefined) throw new TypeError(`${options.id}.map() needs what to map over: an array, a task's output or zip(...).`);
    return add(rest, items);
  };
  return Object.assign(call, { id: options.id, options, map }) as unknown as Task<A, R>;
}

/** Options of a task group. */
export interface GroupOptions {
  /** Group id: prefixes the ids of the tasks declared inside (`group.task`). */
  id: string;
  /** Defaults for the tasks of the group (callbacks included), over the DAG's `defaultArgs`; a task's own options win. */
  defaultArgs?: TaskPolicy & TaskCallbacks;
}

const GROUP = Symbol.for('@updraft/sdk/TaskGroup');

/**
 * A group of task nodes (Airflow's TaskGroup): its tasks' ids start with the group id, and
 * it can be an upstream or a downstream of other nodes as a whole.
 */
export class TaskGroup<T = void> {
  declare readonly [GROUP]: true;

  /** @internal use `group()` */
  constructor(
    private readonly frame: GroupFrame,
    private readonly addUpstream: (taskId: string, upstreamId: string) => void,
    /** What the group's builder returned (e.g. the output of its last task). */
    readonly output: T,
  ) {
    Object.defineProperty(this, GROUP, { value: true });
  }

  /** The group's full id (with its enclosing groups' ids). */
  get id(): string {
    return this.frame.id;
  }

  /** @internal Ids of the group's tasks that nothing inside the group comes before. */
  get rootIds(): string[] {
    const inside = new Set(this.frame.nodes.map((n) => n.id));
    return this.frame.nodes.filter((n) => ![...n.upstreamIds].some((up) => inside.has(up))).map((n) => n.id);
  }

  /** @internal Ids of the group's tasks that nothing inside the group comes after. */
  get leafIds(): string[] {
    const upstreamInside = new Set(this.frame.nodes.flatMap((n) => [...n.upstreamIds]));
    return this.frame.nodes.filter((n) => !upstreamInside.has(n.id)).map((n) => n.id);
  }

  /** Runs the whole group after the given nodes or groups: each of its first tasks waits for them. */
  after(...upstreams: Array<XComArg<unknown> | TaskGroup<unknown> | string>): this {
    for (const root of this.rootIds) new XComArg(root, 'return_value', this.addUpstream).after(...upstreams);
    return this;
  }
}

export function isTaskGroup(value: unknown): value is TaskGroup<unknown> {
  return typeof value === 'object' && value !== null && (value as { [GROUP]?: unknown })[GROUP] === true;
}

/**
 * Declares a task group inside a DAG builder (Airflow's `@task_group`): the tasks called in
 * `build` get ids `groupId.taskId` and the group's `defaultArgs`; the group can be used in
 * `.after()` as a whole. Groups nest.
 *
 * ```ts
 * const cleaned = group('clean', () => dedupe(normalize(raw)));
 * report(cleaned.output).after(cleaned);
 * ```
 */
export function group<T>(idOrOptions: string | GroupOptions, build: () => T): TaskGroup<T> {
  const options: GroupOptions = typeof idOrOptions === 'string' ? { id: idOrOptions } : idOrOptions;
  const owner = builderState[BUILDING];
  if (!owner) throw new TypeError(`group("${options.id}") was called outside a dag() builder: declare groups inside dag({ id }, () => { ... }).`);
  const { frame, output } = owner.inGroup(options, build);
  return new TaskGroup(frame, owner.addUpstream, output);
}

/** The serializable part of task options: callbacks stay in the bundle (the structure lists their names). */
function withoutCallbacks<T extends object>(options: T): Omit<T, keyof TaskCallbacks> {
  const { onSuccess: _s, onFailure: _f, onRetry: _r, onSkip: _k, ...rest } = options as T & TaskCallbacks;
  return rest;
}

function outletUris(taskId: string, outlets: unknown): string[] {
  if (!Array.isArray(outlets)) throw new TypeError(`task("${taskId}"): outlets must be a list of assets: outlets: [asset('s3://bucket/key')]`);
  return outlets.map((outlet, i) => {
    if (!isAsset(outlet)) throw new TypeError(`task("${taskId}"): outlets[${i}] is not an asset: use asset('s3://bucket/key')`);
    return outlet.uri;
  });
}

function withoutId(options: TaskOptions): Omit<TaskOptions, 'id'> {
  return withoutKey(options, 'id');
}

function withoutKey<T extends object, K extends keyof T>(options: T, key: K): Omit<T, K> {
  const { [key]: _dropped, ...rest } = options;
  return rest;
}

/** A Date as ISO 8601 text (an invalid Date as its own text, which deploy then refuses); text as given. */
function isoText(value: Date | string): string {
  if (typeof value === 'string') return value;
  return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
}
