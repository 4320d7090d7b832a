// @updraft/server: the platform's building blocks, for embedding and for tests.
export { createApi, serveApi, type ApiOptions, type ServeOptions } from './api/server.js';
export type { AuthOptions } from './api/authentication.js';
export { ROLES, type Caller, type DagGrants, type Role } from './auth.js';
export { createApiToken, revokeApiToken, type ApiTokenInfo, type ApiTokenInput } from './tokens.js';
export { resolveConfig, type UpdraftConfig } from './config.js';
export { deployDags, type DeployResult } from './deploy.js';
export { LiveUpdates, type LiveUpdatesOptions } from './live/live-updates.js';
export { startWorker, type Worker, type WorkerOptions } from './executor/worker.js';
export { openDatabase, startPlatform, type Database, type Platform, type PlatformOptions } from './platform.js';
export { createDagRun, triggerDagRun, type TriggerInput } from './runs.js';
export { startScheduler, type Scheduler } from './scheduler.js';
export { checkHealth, type Health, type HealthStatus, type ProcessHealth } from './health.js';
export { printApiSchema } from './api/print-schema.js';
export { UpdraftError } from './errors.js';
export {
  fixedSecretKey,
  localSecretKey,
  processSecretKey,
  SecretKey,
  secretKeyFromEnv,
  SecretUnreadable,
  NoSecretKey,
  type SecretKeySource,
} from './secrets/key.js';
export { setVariable, deleteVariable, type VariableInput } from './secrets/variables.js';
export { upsertConnection, deleteConnection, type ConnectionInput } from './secrets/connections.js';
export { LocalXComStore, XComBlobMissing, type XComStore } from './xcom/store.js';
export { defaultXComStore, sweepDeletedBlobs, XComUnreadable, XCOM_INLINE_MAX_BYTES, XCOM_MAX_BYTES, type XComSettings } from './xcom/values.js';
export { renderXCom } from './xcom/render.js';
