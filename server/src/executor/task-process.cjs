// One isolated task process (server/src/executor/task-processes.ts): runs one try at a
// time of tasks from one bundle, sent by its worker over IPC. It holds no database
// credentials; everything it needs comes in the `run` message and everything it produces
// (log lines, the result) goes back as messages. Plain CommonJS so it runs without a TS loader.
'use strict';

const util = require('node:util');
const { Worker } = require('node:worker_threads');
const { decodeArg, encode } = require('../xcom/codec.cjs');
const { plainLogFields } = require('./log-fields.cjs');

const DAG = Symbol.for('@updraft/sdk/Dag');
// The SDK's SECRETS_ACCESS (sdk/src/secrets.ts): where variable() and connection() find the worker.
const SECRETS_ACCESS = Symbol.for('@updraft/sdk/secrets');

/** Puts the worker's secrets access in a context, not enumerable: `{ ...context() }` does not copy it into a value a task returns. */
function withSecretsAccess(ctx, access) {
  return Object.defineProperty(ctx, SECRETS_ACCESS, { value: access });
}
const MAX_LOG_MESSAGE = 64 * 1024;

/** The try being run: { id, controller }. */
let current = null;
const bundles = new Map();
/** Lookups (variables, connections) sent to the worker and not answered yet, by request id. */
const lookups = new Map();
let lastLookup = 0;

function send(message) {
  if (process.connected) process.send(message);
}

function log(level, message, fields) {
  let text = typeof message === 'string' ? message : String(message);
  if (text.length > MAX_LOG_MESSAGE) text = `${text.slice(0, MAX_LOG_MESSAGE)}… [${text.length - MAX_LOG_MESSAGE} more characters cut]`;
  send({ type: 'log', tryId: current ? current.id : null, level, message: text, fields: plainLogFields(fields) });
}

// console.* of task code becomes log lines of the try that is running.
for (const [method, level] of [['log', 'info'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warn'], ['error', 'error'], ['trace', 'debug']]) {
  console[method] = (...args) => log(level, util.format(...args));
}

process.on('unhandledRejection', (reason) => log('warn', `unhandled promise rejection in task code: ${describe(reason)}`));
// The worker is gone (killed): nothing could receive our result, so do not linger.
process.on('disconnect', () => process.exit(0));
// Task code that never yields (a busy loop) never sees 'disconnect': a thread of our own,
// which runs beside it, ends the process once the worker that forked it is gone. The
// worker passes its pid: it may already be gone by the time this line runs.
const workerPid = Number(process.argv[2]);
if (process.ppid !== workerPid) process.exit(0);
new Worker(
  `const { workerData } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== workerData.workerPid) process.kill(workerData.pid, 'SIGKILL'); }, 500);`,
  { eval: true, workerData: { workerPid, pid: process.pid }, resourceLimits: { maxOldGenerationSizeMb: 8 } },
).unref();

process.on('message', (message) => {
  if (message.type === 'run') void run(message);
  else if (message.type === 'abort' && current && current.id === message.tryId) {
    const error = new Error(message.reason);
    error.name = message.reasonName;
    current.controller.abort(error);
  } else if (message.type === 'lookup_reply') {
    const waiting = lookups.get(message.requestId);
    lookups.delete(message.requestId);
    waiting?.(message.reply);
  }
});

/**
 * Asks the worker for a variable or a connection (it holds the database and the key; this
 * process holds neither). Resolves to the value, or undefined when there is none.
 */
function lookup(tryId, kind, name, secretFields) {
  return new Promise((resolve) => {
    const requestId = ++lastLookup;
    lookups.set(requestId, resolve);
    send({ type: 'lookup', tryId, requestId, kind, name, ...(secretFields === undefined ? {} : { secretFields }) });
  }).then((reply) => {
    if (!reply.ok) {
      const error = new Error(reply.error.message);
      error.name = reply.error.name;
      throw error;
    }
    return reply.found ? reply.value : undefined;
  });
}

async function run({ tryId, bundleFile, fileName, dagId, taskId, args, context, maxResultBytes, callback }) {
  const controller = new AbortController();
  current = { id: tryId, controller };
  let result;
  try {
    const dag = findDag(bundleFile, fileName, dagId);
    const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (message, fields) => log(level, message, fields)]));
    const secrets = { variable: (key) => lookup(tryId, 'variable', key), connection: (id, options) => lookup(tryId, 'connection', id, options ? options.secretFields : undefined) };
    const ctx = {
      ...context,
      logicalDate: new Date(context.logicalDate),
      dataIntervalStart: new Date(context.dataIntervalStart),
      dataIntervalEnd: new Date(context.dataIntervalEnd),
      log: logger,
      signal: controller.signal,
    };
    withSecretsAccess(ctx, secrets);
    if (callback && callback.runState) {
      const { dagId: d, runId, dagRunId, logicalDate, conf, params } = ctx;
      await dag.runDagCallback({ dagId: d, runId, dagRunId, logicalDate, conf, params, log: logger, state: callback.runState });
      result = { type: 'result', tryId, ok: true };
    } else if (callback) {
      await dag.runCallback(taskId, callback.name, withSecretsAccess({ ...ctx, error: callback.error }, secrets));
      result = { type: 'result', tryId, ok: true };
    } else {
      const value = await dag.runTask(taskId, args.map(decodeArg), ctx);
      // Encoded here, so that a value too large or not storable fails in this process, before it travels.
      result = { type: 'result', tryId, ok: true, value: value === undefined ? undefined : encode(value, `Task "${taskId}" returned a value that`, maxResultBytes) };
    }
  } catch (e) {
    result = { type: 'result', tryId, ok: false, error: errorData(e) };
  }
  current = null;
  send(result);
}

function findDag(bundleFile, fileName, dagId) {
  let files = bundles.get(bundleFile);
  if (!files) {
    files = require(bundleFile);
    bundles.set(bundleFile, files);
  }
  const load = files[fileName];
  if (!load) throw setupError(`the bundle has no file ${fileName}`);
  const found = Object.values(load()).find((value) => value && value[DAG] === true && value.id === dagId);
  if (!found) throw setupError(`${fileName} does not export DAG "${dagId}"`);
  return found;
}

function setupError(message) {
  const error = new Error(message);
  error.name = 'TaskSetupFailed';
  return error;
}

function errorData(e) {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack, retryable: e.retryable !== false };
  return { name: 'Error', message: `Non-Error thrown: ${describe(e)}`, retryable: true };
}

function describe(e) {
  if (e instanceof Error) return e.stack || e.message;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
