// Builds the publishable packages (sdk, server, plugins/*) into each one's dist/: `tsc -b` over
// their tsconfig.build.json (project references, so an up-to-date package is skipped in well
// under a second), then copies the files tsc does not emit (SQL statements, the CommonJS child
// scripts and their .d.cts) next to the compiled code. The root postinstall runs it, so
// `npm ci && npm start` runs compiled code; `npm run build` runs it by hand. Tests run the
// TypeScript sources instead (the "@updraft/source" export condition), see ARCHITECTURE.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The packages in build order (tsc -b orders them by their references anyway). */
export const PACKAGES = ['sdk', ...fs.readdirSync(path.join(ROOT, 'plugins')).filter((name) => fs.existsSync(path.join(ROOT, 'plugins', name, 'tsconfig.build.json'))).map((name) => `plugins/${name}`), 'server'];
const ASSET = /\.(sql|cjs|d\.cts)$/;

/** Copies src/**\/*.{sql,cjs,d.cts} of `pkg` into its dist/, at the same place. */
function copyAssets(pkg) {
  const src = path.join(ROOT, pkg, 'src');
  for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !ASSET.test(entry.name)) continue;
    const from = path.join(entry.parentPath, entry.name);
    const to = path.join(ROOT, pkg, 'dist', path.relative(src, from));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  }
}

/**
 * What the server needs at run time that the repository keeps outside server/ (the
 * migrations, the built dashboard): copied into server/assets/ when the server is packed
 * (its prepack), so that a published @updraft/server carries them (server/src/package-assets.ts).
 */
function copyServerAssets() {
  const assets = path.join(ROOT, 'server', 'assets');
  fs.rmSync(assets, { recursive: true, force: true });
  fs.cpSync(path.join(ROOT, 'prisma', 'migrations'), path.join(assets, 'migrations'), { recursive: true });
  const dashboard = path.join(ROOT, 'web', 'out');
  if (fs.existsSync(dashboard)) fs.cpSync(dashboard, path.join(assets, 'web'), { recursive: true });
  else console.warn('packages: web/out is missing (npm run build:web): the packed server has no dashboard');
}

/** Builds `packages` (default: all); returns the exit status. */
export function buildPackages(packages = PACKAGES) {
  const started = Date.now();
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-b', ...packages.map((pkg) => path.join(ROOT, pkg, 'tsconfig.build.json'))], { cwd: ROOT, stdio: 'inherit' });
  // tsc -b still emits what it can when there are type errors: the assets go with it.
  for (const pkg of packages) copyAssets(pkg);
  if (result.status !== 0) {
    console.error('packages: the build failed (tsc -b, above)');
    return result.status ?? 1;
  }
  console.log(`packages: built ${packages.length} into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const named = process.argv.slice(2).filter((arg) => arg !== '--pack');
  const status = buildPackages(named.length ? named : PACKAGES);
  if (status === 0 && process.argv.includes('--pack') && named.includes('server')) copyServerAssets();
  process.exit(status);
}
