const XCOM_ARG = Symbol.for('@updraft/sdk/XComArg');

/** Something that can come before a node as a whole (a task group): its last task nodes. */
interface Upstreams {
  readonly leafIds: string[];
}

/**
 * A reference to a value a task node will publish at run time. Pass it to another task
 * to declare the dependency and deliver the value; `T` is the value after serialization.
 */
export class XComArg<T> {
  declare readonly [XCOM_ARG]: true;
  /** Phantom: carries the value type so that wiring the wrong type does not compile. */
  declare readonly __value?: T;

  /** @internal */
  constructor(
    /** Id of the task node that publishes the value. */
    readonly taskId: string,
    /** XCom key; a task's return value has key `return_value`. */
    readonly key: string,
    private readonly addUpstream: (taskId: string, upstream: string) => void,
  ) {
    Object.defineProperty(this, XCOM_ARG, { value: true });
  }

  /**
   * Runs this task node after the given ones, without passing their values
   * (Airflow's `upstream >> this`). Accepts task node outputs or task ids.
   */
  after(...upstreams: Array<XComArg<unknown> | Upstreams | string>): this {
    for (const upstream of upstreams) {
      if (typeof upstream === 'string') this.addUpstream(this.taskId, upstream);
      else if (isXComArg(upstream)) this.addUpstream(this.taskId, upstream.taskId);
      else for (const leaf of upstream.leafIds) this.addUpstream(this.taskId, leaf);
    }
    return this;
  }
}

export function isXComArg(value: unknown): value is XComArg<unknown> {
  return typeof value === 'object' && value !== null && (value as { [XCOM_ARG]?: unknown })[XCOM_ARG] === true;
}

/** Runs each task node after the previous one: `chain(a, b, c)` is `a >> b >> c`. */
export function chain(...nodes: Array<XComArg<unknown>>): void {
  for (let i = 1; i < nodes.length; i++) nodes[i]!.after(nodes[i - 1]!);
}
