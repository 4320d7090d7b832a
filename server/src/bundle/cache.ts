import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes a bundle to `<cacheDir>/<hash>.cjs` once (atomically) and returns the path. */
export async function writeBundleFile(cacheDir: string, bundle: { hash: string; code: string }): Promise<string> {
  const file = path.join(cacheDir, `${bundle.hash}.cjs`);
  try {
    await stat(file);
    return file;
  } catch {
    await mkdir(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bundle.code);
    await rename(tmp, file);
    return file;
  }
}
