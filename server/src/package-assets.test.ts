import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryDir } from './package-assets.js';

describe('repositoryDir', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'updraft-assets-'));
  const repo = path.join(tmp, 'repo');
  const server = path.join(repo, 'server');
  fs.mkdirSync(path.join(server, 'assets', 'migrations'), { recursive: true });

  it('finds a published server its packed copy when no repository is around it', () => {
    expect(repositoryDir('prisma/migrations', 'migrations', server)).toBe(path.join(server, 'assets', 'migrations'));
  });

  it('prefers the repository, so a copy left by a local npm pack is never used', () => {
    fs.mkdirSync(path.join(repo, 'prisma', 'migrations'), { recursive: true });
    expect(repositoryDir('prisma/migrations', 'migrations', server)).toBe(path.join(repo, 'prisma', 'migrations'));
  });
});
