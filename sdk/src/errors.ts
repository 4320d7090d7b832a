/**
 * Throw from a task to fail its try without any further retries
 * (for errors that another try cannot fix, such as invalid input).
 */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}

/**
 * Throw from a task to end it `skipped` (never retried): its downstream tasks follow
 * their trigger rules (with the default `all_success` they are skipped too).
 *
 * ```ts
 * if (!hasNewData) throw new SkipError('nothing new since the last run');
 * ```
 */
export class SkipError extends Error {
  override name = 'SkipError';
}

/** `variable(key)` found no variable `key` (and no default was given). */
export class VariableNotFound extends Error {
  override name = 'VariableNotFound';
}

/** `connection(id)` found no connection `id`, stored or in the workers' environment. */
export class ConnectionNotFound extends Error {
  override name = 'ConnectionNotFound';
}

/**
 * Why the platform ended a try when the task's own code did not: the `name` of the error
 * recorded with the try (GraphQL `tries { error }`), stable across versions. Each is retried
 * per the task's `retries`, except where noted.
 */
export class TaskFailure extends Error {}

/** The try ran longer than its `timeout`; it is never recorded as a success. */
export class TaskTimeout extends TaskFailure {
  override name = 'TaskTimeout';
}

/** The task's process exited or crashed (`process.exit()`, a native crash, a signal). */
export class TaskCrashed extends TaskFailure {
  override name = 'TaskCrashed';
}

/** The task's process went over its `memoryLimit` and was stopped. */
export class MemoryLimit extends TaskFailure {
  override name = 'MemoryLimit';
}

/** The worker running the try stopped sending heartbeats (killed, frozen or cut off). */
export class WorkerLost extends TaskFailure {
  override name = 'WorkerLost';
}

/** A running try that no live worker holds any more, closed by the sweep. */
export class TryAbandoned extends TaskFailure {
  override name = 'TryAbandoned';
}

/**
 * The worker shut down before the try finished. The try is retried, and this try does
 * not count against the task's `retries`.
 */
export class WorkerShutdown extends TaskFailure {
  override name = 'WorkerShutdown';
}

/**
 * The task's return value could not be stored: a function, a symbol or a class instance in
 * it, nested deeper than 1,000 levels, or over the XCom maximum (1 GB by default). Not retried.
 */
export class ResultNotStorable extends TaskFailure {
  override name = 'ResultNotStorable';
}

/**
 * An upstream value the task needs cannot be read: its blob is missing from the XCom object
 * store or damaged. Not retried; clear the upstream task to produce it again.
 */
export class XComUnreadable extends TaskFailure {
  override name = 'XComUnreadable';
}

/** The platform could not prepare the try (load the DAG's code or its arguments). */
export class TaskSetupFailed extends TaskFailure {
  override name = 'TaskSetupFailed';
}

/**
 * A mapped task's list could not be mapped: an upstream published no value or not an
 * array, or the list is longer than `maxMapLength`. Not retried: the list would not change.
 */
export class MappingFailed extends TaskFailure {
  override name = 'MappingFailed';
}

/** An operator cancelled the try's run (or marked it) while the try was running. Not retried. */
export class RunCancelled extends TaskFailure {
  override name = 'RunCancelled';
}

/** An operator marked the task instance (success or failed) while its try was running. Not retried. */
export class TaskMarked extends TaskFailure {
  override name = 'TaskMarked';
}
