import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The server package's root (this file is in its src/ or dist/). */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A directory the repository keeps outside server/ (`prisma/migrations`, `web/out`), given
 * relative to the repository root. In the repository, that directory; in a published
 * @updraft/server, which has no repository around it, the copy its prepack put in
 * `assets/<packed>` (scripts/build-packages.mjs). The repository wins, so that a copy left by
 * a local `npm pack` is never used instead of the real thing.
 */
export function repositoryDir(repoPath: string, packed: string, packageRoot = PACKAGE_ROOT): string {
  const inRepository = path.resolve(packageRoot, '..', repoPath);
  const inPackage = path.join(packageRoot, 'assets', packed);
  return !fs.existsSync(inRepository) && fs.existsSync(inPackage) ? inPackage : inRepository;
}
