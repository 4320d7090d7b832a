import { describe, expect, it } from 'vitest';
import { isSensitiveName, redact, SecretMasker } from './masking.js';

describe('SecretMasker', () => {
  it('masks every form of the values it was given: plain, inside JSON, URL-encoded, each line of a multi-line one', () => {
    const masker = new SecretMasker();
    masker.add('p@ss "word"/1');
    masker.add('-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----');
    expect(masker.mask('a p@ss "word"/1 b')).toBe('a *** b');
    expect(masker.mask(JSON.stringify({ pw: 'p@ss "word"/1' }))).toBe('{"pw":"***"}');
    expect(masker.mask(`https://u:${encodeURIComponent('p@ss "word"/1')}@host`)).toBe('https://u:***@host');
    expect(masker.mask('AAAABBBBCCCC')).toBe('***');
  });

  it('masks the longest value first, and leaves values shorter than 4 characters alone', () => {
    const masker = new SecretMasker();
    masker.add('abcd');
    masker.add('abcdefgh');
    masker.add('xyz');
    expect(masker.mask('abcdefgh abcd xyz')).toBe('*** *** xyz');
  });

  it('masks log fields: values, keys, and whatever sits under a sensitive name, at any depth', () => {
    const masker = new SecretMasker();
    masker.add('s3cr3t-value');
    expect(masker.maskFields({ a: 's3cr3t-value', 's3cr3t-value': 1, list: [{ Api_Key: { nested: true } }], token_count: 5, ok: 'fine' })).toEqual({
      a: '***',
      '***': 1,
      list: [{ Api_Key: '***' }],
      token_count: '***',
      ok: 'fine',
    });
    let deep: unknown = 'end';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(JSON.stringify(new SecretMasker().maskFields(deep))).toContain('[nested deeper than 64 levels]');
  });

  it('learns the values under sensitive keys of a JSON value (a connection’s extra)', () => {
    const masker = new SecretMasker();
    masker.addSensitiveValues({ region: 'eu-west-1', auth: { user: 'bob-the-user', apiKey: 'k-123456' }, client_secret: { nested: ['deep-value'] } });
    expect(masker.mask('eu-west-1 bob-the-user k-123456 deep-value')).toBe('eu-west-1 bob-the-user *** ***');
  });
});

describe('SecretMasker.addEvery', () => {
  it('masks every string and number of a value (a field a connection type marks secret), at any depth', () => {
    const masker = new SecretMasker();
    masker.addEvery({ keys: ['first-key', { inner: 'second-key' }], pin: 987654, short: 'ab' });
    masker.addEvery('plain-secret');
    masker.addEvery(null);
    expect(masker.mask('first-key second-key 987654 plain-secret ab')).toBe('*** *** *** *** ab');
  });
});

describe('sensitive names', () => {
  it("are Airflow's, in any case, with or without _ and -", () => {
    for (const name of ['password', 'DB_PASSWORD', 'dbpassword', 'passwd', 'secret', 'client_secret', 'token', 'GITHUB_TOKEN', 'api_key', 'apiKey', 'X-Api-Key', 'authorization', 'private_key', 'privateKey', 'passphrase', 'access_token', 'keyfile_dict', 'service_account', 'proxies', 'tokenizer_count']) {
      expect(isSensitiveName(name), name).toBe(true);
    }
    for (const name of ['user', 'host', 'key', 'region', 'pass', 'author', 'tkz_count', 'monkey']) expect(isSensitiveName(name), name).toBe(false);
  });

  it('redact a JSON value for display', () => {
    expect(redact({ host: 'h', password: { any: 1 }, list: [{ token: 'x' }] })).toEqual({ host: 'h', password: '***', list: [{ token: '***' }] });
  });
});
