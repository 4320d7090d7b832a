// Operators and sensors that plugins define once and DAGs use like any task: `defineOperator`
// turns a params validator and a `run` function into a task factory, so that an operator node
// gets ids, retries, timeouts, isolation and `.map()` exactly as a task does.
import { context } from './context.js';
import { sensor, task, type Found, type SensorOptions, type Task } from './dag.js';
import { NonRetryableError } from './errors.js';
import type { TaskContext, TaskOptions, TaskPolicy } from './interfaces.js';
import { describeIssues, type InputOf, type OutputOf, type ParamsValidator, type ValidationResult } from './standard-schema.js';
import { isXComArg } from './xcom-arg.js';

const OPERATOR = Symbol.for('@updraft/sdk/Operator');

/** What `defineOperator` takes. */
export interface OperatorDefinition<S extends ParamsValidator, R> {
  /** Unique within its plugin: letters, digits and `_` (`shell`, `http_request`). */
  name: string;
  /** One line on what it does, listed by the API. */
  description?: string;
  /** Validates a node's params (a zod schema, or any Standard Schema validator). */
  params: S;
  /** Policy every node of this operator starts from (a task's own options win), e.g. a `timeout`. */
  defaults?: TaskPolicy;
  /**
   * Does the work, in the task's process, with its context (`ctx.log`, `ctx.signal`…;
   * `connection()` and `variable()` work too). What it returns is the node's XCom value.
   */
  run(params: OutputOf<S>, ctx: TaskContext): R;
}

/** What `defineSensor` takes. */
export interface SensorDefinition<S extends ParamsValidator, R> extends Omit<OperatorDefinition<S, R>, 'run' | 'defaults'> {
  /** Defaults of the nodes' sensor options (mode, interval, timeout…); a node's own options win. */
  defaults?: Omit<SensorOptions, 'id'>;
  /** One check: a falsy value while the condition does not hold, a truthy one (the XCom value) once it does. */
  poke(params: OutputOf<S>, ctx: TaskContext): R;
}

/** What the platform lists about an operator or a sensor of a plugin. */
export interface OperatorInfo {
  kind: 'operator' | 'sensor';
  name: string;
  description: string | null;
  /** The params' JSON Schema, when the validator can describe itself (zod can); else null. */
  paramsSchema: unknown;
}

/**
 * An operator: call it with a task id or task options to declare a task whose single
 * argument is the operator's params, then use that task in a DAG like any other.
 *
 * ```ts
 * const listFiles = shell({ id: 'list_files', retries: 2 });
 * dag({ id: 'files' }, () => { listFiles({ command: ['ls', '-la', '/data'] }); });
 * ```
 */
export interface Operator<In, R> {
  (idOrOptions: string | TaskOptions): Task<[params: In], R>;
  readonly operator: OperatorInfo;
}

/** A sensor defined by a plugin: like `Operator`, with sensor options (mode, interval, timeout…). */
export interface PluginSensor<In, R> {
  (idOrOptions: string | SensorOptions): Task<[params: In], Found<R>>;
  readonly operator: OperatorInfo;
}

/**
 * Defines an operator (Airflow's BaseOperator subclass): typed, validated params and a `run`
 * function. Params given as literals are checked when the DAG file is loaded (a mistake is
 * an import error naming the task and the field); params that come from an upstream task
 * are checked when the task runs (a mistake fails it without retry).
 *
 * ```ts
 * export const greet = defineOperator({
 *   name: 'greet',
 *   params: z.object({ name: z.string() }),
 *   run: ({ name }, ctx) => { ctx.log.info(`hello ${name}`); return name.length; },
 * });
 * ```
 */
export function defineOperator<S extends ParamsValidator, R>(definition: OperatorDefinition<S, R>): Operator<InputOf<S>, R> {
  const info = describe('operator', definition);
  const factory = (idOrOptions: string | TaskOptions) => {
    const options = withDefaults(idOrOptions, definition.defaults);
    const declared = task(options, async (params: unknown) => definition.run(await checkAtRunTime(info, definition.params, params), context()));
    return checkedAtDeclaration(info, definition.params, declared);
  };
  return brand(factory, info) as Operator<InputOf<S>, R>;
}

/**
 * Defines a sensor (Airflow's BaseSensorOperator subclass): `poke` runs every `interval`
 * until it returns a truthy value, in `poke` or `reschedule` mode as the node's options say.
 */
export function defineSensor<S extends ParamsValidator, R>(definition: SensorDefinition<S, R>): PluginSensor<InputOf<S>, Awaited<R>> {
  const info = describe('sensor', definition);
  const factory = (idOrOptions: string | SensorOptions) => {
    const options: SensorOptions = { ...definition.defaults, ...(typeof idOrOptions === 'string' ? { id: idOrOptions } : idOrOptions) };
    const declared = sensor(options, async (params: unknown) => definition.poke(await checkAtRunTime(info, definition.params, params), context()));
    return checkedAtDeclaration(info, definition.params, declared);
  };
  return brand(factory, info) as PluginSensor<InputOf<S>, Awaited<R>>;
}

/** Whether `value` is an operator or a sensor made by `defineOperator`/`defineSensor` (of any copy of the SDK). */
export function isOperator(value: unknown): value is { operator: OperatorInfo } {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[OPERATOR] === true;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

function describe(kind: OperatorInfo['kind'], definition: { name: string; description?: string; params: ParamsValidator }): OperatorInfo {
  const what = kind === 'operator' ? 'defineOperator' : 'defineSensor';
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw new TypeError(`${what}(): name must be a letter then letters, digits or _ (at most 100), got ${JSON.stringify(definition.name)}`);
  }
  if (typeof definition.params?.['~standard']?.validate !== 'function') {
    throw new TypeError(`${what}({ name: "${definition.name}" }): params must be a zod schema (or another Standard Schema validator)`);
  }
  return { kind, name: definition.name, description: definition.description ?? null, paramsSchema: jsonSchemaOf(definition.params) };
}

function jsonSchemaOf(params: ParamsValidator): unknown {
  const describable = params as { toJSONSchema?: (options?: { io?: 'input' }) => unknown };
  try {
    return typeof describable.toJSONSchema === 'function' ? describable.toJSONSchema({ io: 'input' }) : null;
  } catch {
    return null; // a schema with parts JSON Schema cannot say (transforms, custom checks)
  }
}

function brand<F extends (...args: never[]) => unknown>(factory: F, info: OperatorInfo): F & { operator: OperatorInfo } {
  Object.defineProperty(factory, OPERATOR, { value: true });
  return Object.assign(factory, { operator: info });
}

function withDefaults(idOrOptions: string | TaskOptions, defaults: TaskPolicy | undefined): TaskOptions {
  const options = typeof idOrOptions === 'string' ? { id: idOrOptions } : idOrOptions;
  return defaults ? { ...defaults, ...options } : options;
}

function label(info: OperatorInfo, taskId: string): string {
  return `task "${taskId}" (${info.kind} ${info.name})`;
}

async function checkAtRunTime(info: OperatorInfo, params: ParamsValidator, value: unknown): Promise<never> {
  const result = await params['~standard'].validate(value);
  if (result.issues) throw new NonRetryableError(`Invalid params of ${label(info, context().taskId)}: ${describeIssues(result.issues)}`);
  return result.value as never;
}

/** `declared`, whose calls and `.map()` check their literal params at once (at deploy, in the DAG file's load). */
function checkedAtDeclaration<T extends { id: string; options: TaskOptions; map: unknown }>(info: OperatorInfo, params: ParamsValidator, declared: T): T {
  const check = (value: unknown, where: string) => {
    if (isXComArg(value)) return;
    const result = params['~standard'].validate(value) as ValidationResult<unknown> | Promise<unknown>;
    if (result instanceof Promise) return void result.catch(() => undefined); // async validators are checked at run time
    if (result.issues) throw new TypeError(`Invalid params of ${label(info, declared.id)}${where}: ${describeIssues(result.issues)}`);
  };
  const call = (...args: unknown[]) => {
    check(args[0], '');
    return (declared as unknown as (...a: unknown[]) => unknown)(...args);
  };
  const map = (items: unknown, ...rest: unknown[]) => {
    if (Array.isArray(items)) items.forEach((item, i) => check(item, ` (item ${i} of .map())`));
    return (declared.map as (...a: unknown[]) => unknown)(items, ...rest);
  };
  return Object.assign(call, { id: declared.id, options: declared.options, map }) as unknown as T;
}
