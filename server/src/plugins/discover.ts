// Which plugin packages are installed: the packages that Node's resolution can reach from the
// platform's folder (its `node_modules`, and those of the folders above, as `require` walks
// them) that are named `@updraft/plugin-*` or say `"updraft": { "plugin": true }` in their
// package.json. npm workspaces are linked into `node_modules`, so they count too.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SOURCE_CONDITION } from '../bundle/conditions.js';

/** An installed plugin package. */
export interface PluginPackage {
  name: string;
  version: string;
  description: string | null;
  /** Its folder (symlinks resolved by Node when it is bundled). */
  dir: string;
  /** Its entry file: the `.` export (`import`, `node`, `default` or a plain path; SOURCE_CONDITION first), else `main`, else index.js. */
  entry: string;
}

const NAMED = /^@updraft\/plugin-[a-z0-9._-]+$/;
/** Most packages whose package.json is read in one folder (a node_modules with more is not walked further). */
const MAX_PACKAGES_PER_FOLDER = 20_000;

/** The plugin packages reachable from `from`, by name; a name found in several folders counts once (the nearest, as Node resolves it). */
export async function discoverPlugins(from: string): Promise<PluginPackage[]> {
  const found = new Map<string, PluginPackage>();
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    for (const pkg of await pluginsIn(path.join(dir, 'node_modules'))) if (!found.has(pkg.name)) found.set(pkg.name, pkg);
    if (path.dirname(dir) === dir) break;
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

async function pluginsIn(nodeModules: string): Promise<PluginPackage[]> {
  const folders: string[] = [];
  for (const entry of await readdir(nodeModules, { withFileTypes: true }).catch(() => [])) {
    if (entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      for (const inner of await readdir(path.join(nodeModules, entry.name)).catch(() => [])) folders.push(path.join(nodeModules, entry.name, inner));
    } else {
      folders.push(path.join(nodeModules, entry.name));
    }
  }
  const plugins: PluginPackage[] = [];
  for (const dir of folders.slice(0, MAX_PACKAGES_PER_FOLDER)) {
    const manifest = await readManifest(dir);
    if (!manifest || typeof manifest.name !== 'string') continue;
    const declared = typeof manifest.updraft === 'object' && manifest.updraft !== null && (manifest.updraft as { plugin?: unknown }).plugin === true;
    if (!NAMED.test(manifest.name) && !declared) continue;
    plugins.push({
      name: manifest.name,
      version: typeof manifest.version === 'string' ? manifest.version : '0.0.0',
      description: typeof manifest.description === 'string' ? manifest.description : null,
      dir,
      entry: path.resolve(dir, entryOf(manifest)),
    });
  }
  return plugins;
}

async function readManifest(dir: string): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function entryOf(manifest: Record<string, unknown>): string {
  const exports = manifest.exports;
  const root = typeof exports === 'string' ? exports : typeof exports === 'object' && exports !== null ? (exports as Record<string, unknown>)['.'] : undefined;
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null) {
      const conditions = value as Record<string, unknown>;
      if (SOURCE_CONDITION && conditions[SOURCE_CONDITION] !== undefined) return pick(conditions[SOURCE_CONDITION]);
      return pick(conditions.import) ?? pick(conditions.node) ?? pick(conditions.default) ?? pick(conditions.require);
    }
    return undefined;
  };
  return pick(root) ?? (typeof manifest.main === 'string' ? manifest.main : 'index.js');
}
