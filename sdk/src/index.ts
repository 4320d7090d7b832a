export { context, params } from './context.js';
export { branch, dag, group, isDag, isTaskGroup, latestOnly, sensor, shortCircuit, task, Dag, TaskGroup } from './dag.js';
export type { BranchChoice, Found, GroupOptions, SensorOptions, ShortCircuitOptions, Task, TaskArgs } from './dag.js';
export {
  ConnectionNotFound,
  MappingFailed,
  MemoryLimit,
  NonRetryableError,
  ResultNotStorable,
  RunCancelled,
  SkipError,
  TaskCrashed,
  TaskFailure,
  TaskMarked,
  TaskSetupFailed,
  TaskTimeout,
  TryAbandoned,
  VariableNotFound,
  WorkerLost,
  WorkerShutdown,
} from './errors.js';
export type {
  DagOptions,
  DagRetention,
  Duration,
  Isolation,
  Logger,
  MemorySize,
  ParamsSchema,
  RunCallbackContext,
  TaskCallbackContext,
  TaskCallbacks,
  Serialized,
  TaskContext,
  TaskOptions,
  TaskPolicy,
  TriggerRule,
} from './interfaces.js';
export { zip, Zipped } from './mapping.js';
export { connection, SECRETS_ACCESS, variable } from './secrets.js';
export type { SecretsAccess, TaskConnection } from './secrets.js';
export type { MapItems } from './mapping.js';
export type { ArgSpec, MapSpec, RawDagStructure, RawTaskStructure, TaskKind } from './structure.js';
export { XComArg, chain, isXComArg } from './xcom-arg.js';
export { MAINTENANCE_ACCESS } from './maintenance.js';
export type { MaintenanceAccess, MaintenanceCleanOptions, MaintenanceCleanResult, OrphanSweepResult, RetentionTableName } from './maintenance.js';
