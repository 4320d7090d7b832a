// `npm ci` must not warn EBADENGINE on the Node versions the README promises: every package
// in package-lock.json must accept them in its `engines.node`, unless it is listed below.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/paths.js';

/** Packages allowed to exclude a supported Node version, each with the reason. They must be dev-only. */
const ALLOWED: Record<string, string> = {
  // prisma (our dev-only CLI, for `prisma generate`) depends on @prisma/dev, which pins this
  // package for `prisma dev` (a local Prisma Postgres we never run); every published version
  // declares node >= 22, and prisma 7.10 pins @prisma/dev exactly. `npm ci` prints one
  // EBADENGINE warning for it on Node 20; nothing of ours loads it.
  'node_modules/@prisma/streams-local': 'dev-only, unused: `prisma dev` only',
};

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  dev?: boolean;
  devOptional?: boolean;
}

const rootPackage = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

describe('engines', () => {
  // The lowest version package.json's engines accept, and the one running the tests.
  const minimum = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(rootPackage.engines.node);
  const supported = [`${minimum?.[1]}.${minimum?.[2]}.${minimum?.[3] ?? 0}`];
  if (satisfies(process.versions.node, rootPackage.engines.node)) supported.push(process.versions.node);

  it('the README states the Node version package.json requires', () => {
    expect(rootPackage.engines.node).toBe('>=20.19');
    expect(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')).toContain('Requires Node.js 20.19+');
  });

  it('every locked package accepts the supported Node versions, except the allowed dev-only ones', () => {
    const excluding: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (location === '' || range === undefined) continue;
      const refused = supported.filter((version) => !satisfies(version, range));
      if (refused.length > 0) excluding.push(`${location}@${entry.version} (node ${range}) excludes ${refused.join(', ')}`);
    }
    const unexpected = excluding.filter((line) => !Object.keys(ALLOWED).some((allowed) => line.startsWith(`${allowed}@`)));
    expect(unexpected).toEqual([]);
    // The allowlist stays honest: each entry is still locked, still excluding, and dev-only.
    for (const allowed of Object.keys(ALLOWED)) {
      expect(excluding.some((line) => line.startsWith(`${allowed}@`)), `${allowed} no longer excludes a supported Node; remove it from ALLOWED`).toBe(true);
      const entry = lock.packages[allowed];
      expect(entry?.dev === true || entry?.devOptional === true, `${allowed} must stay dev-only`).toBe(true);
    }
  });

  it('reads engines ranges as npm does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['20.19.0', '>=22.0.0', false],
      ['20.19.0', '>=20.19', true],
      ['20.18.9', '>=20.19', false],
      ['20.19.0', '^20.19.0 || ^22.13.0 || >=23.5.0', true],
      ['22.12.0', '^20.19.0 || ^22.13.0 || >=23.5.0', false],
      ['20.19.0', '6.* || 8.* || >= 10.*', true],
      ['20.19.0', '>= 10.x', true],
      ['20.19.0', '^12.20.0 || ^14.13.1 || >=16.0.0', true],
      ['20.19.0', '^10 || ^12 || ^13.7 || ^14 || >=15.0.1', true],
      ['20.19.0', '^18.0.0', false],
      ['20.19.0', '~20.18', false],
      ['20.19.5', '~20.19', true],
      ['20.19.0', '<20', false],
      ['20.19.0', '>=18 <21', true],
      ['20.19.0', '16 - 20', true],
      ['21.0.0', '16 - 20', false],
      ['0.2.5', '^0.2.3', true],
      ['0.3.0', '^0.2.3', false],
      ['20.19.0', '*', true],
    ];
    for (const [version, range, expected] of cases) expect({ version, range, ok: satisfies(version, range) }).toEqual({ version, range, ok: expected });
    expect(() => satisfies('20.19.0', 'latest')).toThrow(/unsupported/);
  });
});

type Version = [number, number, number];

/**
 * Whether `version` is in the npm/semver `range` (`||`, comparators `>= > <= < =`, `^`, `~`,
 * x-ranges like `10.x` or `6.*`, hyphen ranges). Pre-release tags are ignored; any other
 * syntax throws, so that a range this cannot read fails the test instead of passing it.
 */
function satisfies(version: string, range: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  const v: Version = [major, minor, patch];
  return range.split('||').some((alternative) => comparators(alternative).every((test) => test(v)));
}

function comparators(alternative: string): Array<(v: Version) => boolean> {
  const text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1');
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  if (hyphen) return [comparator(`>=${hyphen[1]}`), comparator(`<=${hyphen[2]}`)];
  return text === '' ? [() => true] : text.split(/\s+/).map(comparator);
}

function comparator(token: string): (v: Version) => boolean {
  const match = /^(>=|<=|>|<|=|\^|~)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?$/.exec(token);
  if (!match) throw new Error(`unsupported engines range syntax: ${token}`);
  const op = match[1] ?? '';
  const parts = [match[2], match[3], match[4]].map((p) => (p === undefined || /^[xX*]$/.test(p) ? undefined : Number(p)));
  const given = parts.indexOf(undefined) === -1 ? 3 : parts.indexOf(undefined); // how many leading parts are numbers
  const [a = 0, b = 0, c = 0] = parts;
  const low: Version = [a, b, c];
  // The first version past a partial one: 20 → 21.0.0, 20.19 → 20.20.0.
  const next: Version = given <= 1 ? [a + 1, 0, 0] : given === 2 ? [a, b + 1, 0] : [a, b, c + 1];
  const cmp = (x: Version, y: Version) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  if (given === 0) return () => true;
  switch (op) {
    case '':
    case '=':
      return (v) => cmp(v, low) >= 0 && cmp(v, next) < 0;
    case '>=':
      return (v) => cmp(v, low) >= 0;
    case '>':
      return (v) => cmp(v, next) >= 0;
    case '<':
      return (v) => cmp(v, low) < 0;
    case '<=':
      return (v) => cmp(v, next) < 0;
    case '~': {
      const upper: Version = given === 1 ? [a + 1, 0, 0] : [a, b + 1, 0];
      return (v) => cmp(v, low) >= 0 && cmp(v, upper) < 0;
    }
    default: {
      // ^: the leftmost non-zero part may not change.
      const upper: Version = a > 0 || given === 1 ? [a + 1, 0, 0] : b > 0 || given === 2 ? [0, b + 1, 0] : [0, 0, c + 1];
      return (v) => cmp(v, low) >= 0 && cmp(v, upper) < 0;
    }
  }
}
