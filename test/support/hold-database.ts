// Child process for test/embedded-postgres.test.ts: resolves the database of the Updraft home
// given as argv[2] and prints { url, owned, pid } (pid: the postmaster's) as one JSON line.
// Then it waits: SIGTERM makes it stop() its handle and exit 0; SIGUSR2 makes it exit 0
// without stopping anything (process.exit()); SIGKILL kills it. With argv[3] === 'exit', it
// exits at once without stopping anything.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveDatabase } from '../../server/src/db/embedded.js';

const [, , home, mode] = process.argv;
if (!home) throw new Error('usage: hold-database.ts <home> [exit]');
const db = await resolveDatabase({ home });
// Handlers first: the test may signal as soon as it has read the line below.
const keepAlive = setInterval(() => {}, 1 << 30);
process.once('SIGUSR2', () => process.exit(0));
process.once('SIGTERM', () => {
  void db.stop().then(() => {
    clearInterval(keepAlive);
    process.exit(0);
  });
});
const { pid } = JSON.parse(readFileSync(path.join(home, 'postgres.json'), 'utf8')) as { pid: number };
process.stdout.write(`${JSON.stringify({ url: db.url, owned: db.owned, pid })}\n`);
if (mode === 'exit') process.exit(0);
