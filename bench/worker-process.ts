// One Updraft worker in a process of its own (what `updraft worker` runs, without printing a
// line per task), driven by bench/worker-fleet.ts over IPC: it says `ready` once it takes
// jobs, `runEnded` when a try it finished ended its run, and stops on `stop`.
import pg from 'pg';
import { startWorker } from '../server/src/executor/worker.js';

const databaseUrl = process.env.DATABASE_URL;
const cacheDir = process.env.UPDRAFT_BENCH_CACHE_DIR;
const concurrency = Number(process.env.UPDRAFT_BENCH_CONCURRENCY ?? 8);
if (!databaseUrl || !cacheDir || !process.send) throw new Error('bench/worker-process.ts is started by bench/worker-fleet.ts (DATABASE_URL, UPDRAFT_BENCH_CACHE_DIR, IPC)');
const send = (message: object) => process.send?.(message);

const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
pool.on('error', (e) => console.warn(`worker ${process.pid}: an idle database connection failed: ${e.message}`));
pool.on('connect', (client) => client.on('error', (e) => console.warn(`worker ${process.pid}: a database connection failed: ${e.message}`)));
const worker = await startWorker({
  pool,
  databaseUrl,
  cacheDir,
  concurrency,
  onEvent: (event) => {
    if (event.kind === 'finished' && event.result.runState) send({ kind: 'runEnded', dagRunId: event.dagRunId, state: event.result.runState });
  },
  onWarning: (message) => console.warn(`worker ${process.pid}: ${message}`),
});
process.on('message', (message: { kind?: string }) => {
  if (message.kind !== 'stop') return;
  void (async () => {
    await worker.stop();
    await pool.end();
    process.exit(0);
  })();
});
// Orphaned (the bench died): stop rather than run on.
process.on('disconnect', () => process.exit(1));
send({ kind: 'ready' });
