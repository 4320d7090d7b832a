import { describe, expect, it } from 'vitest';
import { TrySecrets, type SecretSources } from './task-secrets.js';

// Requests are checked before anything is read: these never reach the sources.
const secrets = () => new TrySecrets({} as SecretSources);

describe('a connection lookup with the secret fields of connection types', () => {
  it('is refused, saying what is wrong, when the fields are not a bounded object of names', async () => {
    const ask = (secretFields: unknown) => secrets().ask({ kind: 'connection', name: 'vault_db', secretFields });
    const refused = (message: string) => ({ ok: false, error: { name: 'TypeError', message: `connection("vault_db"): the secret fields of connection types ${message}` } });
    expect(await ask('role_id')).toEqual(refused('must be an object of field names by type'));
    expect(await ask({ vault: 'role_id' })).toEqual(refused('of type "vault" must be a list of field names'));
    expect(await ask({ vault: ['role_id', 7] })).toEqual(refused('of type "vault" must be names of 1 to 200 characters'));
    expect(await ask({ vault: ['x'.repeat(201)] })).toEqual(refused('of type "vault" must be names of 1 to 200 characters'));
    expect(await ask({ vault: Array(1_001).fill('f') })).toEqual(refused('are more than 1000'));
  });

  it('costs little however large', async () => {
    const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`t${i}`, ['f']]));
    const manyNames = { vault: Array.from({ length: 1_000_000 }, (_, i) => `f${i}`) };
    const t0 = performance.now();
    expect((await secrets().ask({ kind: 'connection', name: 'c', secretFields: huge })).ok).toBe(false);
    expect((await secrets().ask({ kind: 'connection', name: 'c', secretFields: manyNames })).ok).toBe(false);
    const ms = performance.now() - t0;
    console.log(`checking 100,000 types and 1,000,000 names: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(500);
  });
});
