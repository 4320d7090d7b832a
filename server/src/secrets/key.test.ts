import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSecretKey, NoSecretKey, processSecretKey, SecretKey, SecretUnreadable } from './key.js';

const TEXT = 'unit-test-secret-key-0123456789-abcdefgh';

describe('SecretKey', () => {
  const key = new SecretKey(TEXT, 'UPDRAFT_SECRET_KEY');

  it('seals with AES-256-GCM in a versioned format carrying its key id, and opens what it sealed', () => {
    const sealed = key.seal('hunter2 ✓', 'variable:db');
    expect(sealed[0]).toBe(1);
    expect(sealed.subarray(1, 5).toString('hex')).toBe(key.id);
    expect(sealed.length).toBe(1 + 4 + 12 + 16 + Buffer.byteLength('hunter2 ✓'));
    expect(key.open(sealed, 'variable:db', 'x')).toBe('hunter2 ✓');
    expect(new SecretKey(`  ${TEXT}\n`, 'file').id).toBe(key.id); // surrounding whitespace is not part of the key
  });

  it('refuses, naming the value, a value of another key, of another row, damaged or of an unknown format', () => {
    const sealed = key.seal('hunter2', 'variable:db');
    const other = new SecretKey(`${TEXT}-other`, '/home/u/.updraft/secret.key');
    expect(() => other.open(sealed, 'variable:db', 'value of variable "db"')).toThrow(
      new SecretUnreadable(
        `The stored value of variable "db" was encrypted with secret key ${key.id}, but this process has secret key ${other.id} (from /home/u/.updraft/secret.key): give it the UPDRAFT_SECRET_KEY the value was written with, or set the value again`,
      ),
    );
    expect(() => key.open(sealed, 'variable:other', 'value of variable "other"')).toThrow(
      'The stored value of variable "other" failed its integrity check (damaged, or copied from another row): set it again',
    );
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => key.open(flipped, 'variable:db', 'v')).toThrow(SecretUnreadable);
    expect(() => key.open(Buffer.from([2, 0, 0]), 'variable:db', 'value of variable "db"')).toThrow(
      'The stored value of variable "db" is not in a format this version of Updraft can read (format 2, 3 bytes)',
    );
  });

  it('refuses a key shorter than 32 characters, saying how to make one', () => {
    expect(() => new SecretKey('short', 'UPDRAFT_SECRET_KEY')).toThrow(
      'UPDRAFT_SECRET_KEY must hold at least 32 characters of random text (e.g. the output of `openssl rand -base64 32`); it has 5',
    );
  });
});

describe('where a process finds its key', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'updraft-key-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('updraft start: UPDRAFT_SECRET_KEY, else the home key, generated once (mode 0600)', async () => {
    expect((await localSecretKey(home, { UPDRAFT_SECRET_KEY: TEXT })).key.source).toBe('UPDRAFT_SECRET_KEY');
    const [a, b] = await Promise.all([localSecretKey(home, {}), localSecretKey(home, {})]);
    expect([a.generated, b.generated].sort()).toEqual([false, true]);
    expect(a.key.id).toBe(b.key.id);
    const file = path.join(home, 'secret.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await localSecretKey(home, {})).generated).toBe(false);
  });

  it('workers and the CLI: UPDRAFT_SECRET_KEY (checked at once), else the home key once it exists, never a new one', async () => {
    expect(() => processSecretKey(home, { UPDRAFT_SECRET_KEY: 'short' })).toThrow(/must hold at least 32 characters/);
    const empty = await mkdtemp(path.join(os.tmpdir(), 'updraft-key-'));
    try {
      const source = processSecretKey(empty, {});
      expect(source).toThrow(NoSecretKey);
      expect(source).toThrow(`this process has no secret key: set UPDRAFT_SECRET_KEY to the key the API encrypts secrets with (or run \`updraft start\` once in this home, which generates ${path.join(empty, 'secret.key')})`);
      await writeFile(path.join(empty, 'secret.key'), TEXT);
      expect(source().id).toBe(new SecretKey(TEXT, 'x').id); // found on a later use
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
