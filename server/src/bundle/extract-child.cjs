// Loads a bundle in a throwaway process and reports each file's DAG structures to the
// parent (server/src/bundle/extract.ts). Plain CommonJS so it runs without a TS loader.
'use strict';

const DAG = Symbol.for('@updraft/sdk/Dag');

process.on('message', ({ bundlePath, fileNames }) => {
  let loaders;
  try {
    loaders = require(bundlePath);
  } catch (e) {
    process.send({ kind: 'fatal', message: describe(e) });
    return;
  }
  // The parent times each file's load from its `loading` message (small IPC messages are
  // written to the pipe at once, even from this synchronous loop), so a timeout blames the
  // file being loaded, and a slow file never uses up the time of the files after it.
  for (const fileName of fileNames) {
    process.send({ kind: 'loading', fileName });
    try {
      const exports = loaders[fileName]();
      const dags = Object.values(exports).filter((value) => value && value[DAG] === true);
      process.send({ kind: 'loaded', fileName, structures: dags.map((dag) => dag.toStructure()) });
    } catch (e) {
      process.send({ kind: 'failed', fileName, message: describe(e) });
    }
  }
  process.send({ kind: 'done' }, () => process.exit(0));
});

function describe(e) {
  return e instanceof Error ? e.stack || e.message : String(e);
}
