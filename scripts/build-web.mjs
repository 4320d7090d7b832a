// Builds the dashboard (web/, a Next.js static export) into web/out unless web/out was
// already built from the same sources: the root postinstall runs it, so `npm ci` builds once
// and `npm start` serves at once; `npm run build:web` runs it by hand (--force rebuilds).
// The sources' hash is kept in web/out/.source-hash.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');
const OUT = path.join(WEB, 'out');
const SKIP = new Set(['node_modules', 'out', '.next']);

/** A hash of every file the build reads in web/ (and of the Next.js version installed). */
export function sourceHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIP.has(entry.name) || entry.name === 'next-env.d.ts') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(path.relative(WEB, full)).update('\0').update(fs.readFileSync(full)).update('\0');
    }
  };
  walk(WEB);
  try {
    hash.update(JSON.parse(fs.readFileSync(path.join(WEB, '..', 'node_modules', 'next', 'package.json'), 'utf8')).version);
  } catch {
    // next not installed: the build below says so.
  }
  return hash.digest('hex');
}

export function isBuilt() {
  try {
    return fs.readFileSync(path.join(OUT, '.source-hash'), 'utf8').trim() === sourceHash();
  } catch {
    return false;
  }
}

export function buildWeb({ force = false } = {}) {
  if (process.env.UPDRAFT_SKIP_WEB_BUILD === '1') return 0;
  if (!force && isBuilt()) {
    console.log('web: dashboard up to date (web/out)');
    return 0;
  }
  console.log('web: building the dashboard (next build → web/out) …');
  const started = Date.now();
  const result = spawnSync('npx', ['next', 'build'], { cwd: WEB, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  if (result.status !== 0) return result.status ?? 1;
  fs.writeFileSync(path.join(OUT, '.source-hash'), `${sourceHash()}\n`);
  console.log(`web: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(buildWeb({ force: process.argv.includes('--force') }));
}
