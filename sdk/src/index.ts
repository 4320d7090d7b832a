export { allOf, anyOf, asset, assetUriProblem, isAsset, Asset, MAX_ASSET_CONDITION_ASSETS, MAX_ASSET_CONDITION_DEPTH, MAX_ASSET_URI_LENGTH } from './assets.js';
export type { AllOf, AnyOf, AssetCondition, AssetConditionSpec, AssetSchedule } from './assets.js';
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
  XComUnreadable,
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
  WebhookOptions,
  WeightRule,
} from './interfaces.js';
export { zip, Zipped } from './mapping.js';
export { connection, SECRETS_ACCESS, variable } from './secrets.js';
export type { SecretFieldsByType, SecretsAccess, TaskConnection } from './secrets.js';
export type { MapItems } from './mapping.js';
export type { ArgSpec, MapSpec, RawDagStructure, RawTaskStructure, TaskKind } from './structure.js';
export { XComArg, chain, isXComArg } from './xcom-arg.js';
export { defineOperator, defineSensor, isOperator } from './operators.js';
export type { Operator, OperatorDefinition, OperatorInfo, PluginSensor, SensorDefinition } from './operators.js';
export { defineConnectionType, isConnectionType, runConnectionTest } from './connection-types.js';
export type { ConnectionField, ConnectionFields, ConnectionTestResult, ConnectionType, ConnectionTypeDefinition, ConnectionTypeInfo } from './connection-types.js';
export type { InputOf, OutputOf, ParamsValidator, ValidationIssue } from './standard-schema.js';
export { DURATION_PATTERN, toMilliseconds } from './duration.js';
export { MAINTENANCE_ACCESS } from './maintenance.js';
export type { MaintenanceAccess, MaintenanceCleanOptions, MaintenanceCleanResult, OrphanSweepResult, RetentionTableName } from './maintenance.js';
