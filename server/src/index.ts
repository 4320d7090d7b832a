// @updraft/server: the platform's building blocks, for embedding and for tests.
export { createApi, serveApi } from './api/server.js';
export { resolveConfig, type UpdraftConfig } from './config.js';
export { deployDags, type DeployResult } from './deploy.js';
export { startWorker, type Worker, type WorkerOptions } from './executor/worker.js';
export { openDatabase, startPlatform, type Database, type Platform } from './platform.js';
export { createDagRun, triggerDagRun, type TriggerInput } from './runs.js';
export { startScheduler, type Scheduler } from './scheduler.js';
export { UpdraftError } from './errors.js';
