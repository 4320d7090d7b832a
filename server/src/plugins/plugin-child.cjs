// Loads one plugin bundle in a throwaway process (no database credentials in its environment)
// and answers one request: `describe` (its operators and connection types) or `test` (run a
// connection type's test). Plain CommonJS so it runs without a TS loader. See registry.ts.
'use strict';

const OPERATOR = Symbol.for('@updraft/sdk/Operator');
const CONNECTION_TYPE = Symbol.for('@updraft/sdk/ConnectionType');

process.on('message', async (request) => {
  let reply;
  try {
    const { plugin, sdk } = require(request.bundlePath);
    const values = Object.values(plugin);
    const operators = values.filter((v) => typeof v === 'function' && v[OPERATOR] === true).map((v) => v.operator);
    const types = values.filter((v) => v && typeof v === 'object' && v[CONNECTION_TYPE] === true);
    if (request.kind === 'describe') {
      reply = { ok: true, operators, connectionTypes: types.map((t) => t.connectionType) };
    } else {
      const type = types.find((t) => t.connectionType.type === request.connection.type);
      if (!type) throw new Error(`the plugin has no connection type "${request.connection.type}"`);
      const controller = new AbortController();
      // The parent kills this process a moment after the limit: the test gets its signal first.
      setTimeout(() => controller.abort(new Error('connection test timed out')), request.timeoutMs).unref();
      reply = { ok: true, result: await sdk.runConnectionTest(type, request.connection, controller.signal) };
    }
  } catch (e) {
    reply = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  process.send(reply, () => process.exit(0));
});
