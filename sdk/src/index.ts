export { context } from './context.js';
export { dag, task, isDag, Dag } from './dag.js';
export type { Task, TaskArgs } from './dag.js';
export { NonRetryableError } from './errors.js';
export type { DagOptions, Duration, Logger, Serialized, TaskContext, TaskOptions, TaskPolicy } from './interfaces.js';
export type { ArgSpec, RawDagStructure, RawTaskStructure } from './structure.js';
export { XComArg, chain, isXComArg } from './xcom-arg.js';
