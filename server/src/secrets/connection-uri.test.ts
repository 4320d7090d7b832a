import { describe, expect, it } from 'vitest';
import { connectionVariable, parseConnectionText } from './connection-uri.js';

describe('UPDRAFT_CONN_<ID>', () => {
  it('is named after the id in upper case', () => {
    expect(connectionVariable('my_db')).toBe('UPDRAFT_CONN_MY_DB');
  });

  it("reads a URI as Airflow does: percent-decoded parts, postgresql as postgres, - as _, query or __extra__ as extra", () => {
    expect(parseConnectionText('V', 'postgresql://us%40er:p%2Fss%3Aw@db.example:5433/my%20db?sslmode=require&application_name=etl')).toEqual({
      type: 'postgres',
      host: 'db.example',
      port: 5433,
      login: 'us@er',
      password: 'p/ss:w',
      schema: 'my db',
      extra: { sslmode: 'require', application_name: 'etl' },
    });
    expect(parseConnectionText('V', `google-cloud://?__extra__=${encodeURIComponent(JSON.stringify({ project: 'p', nested: { a: 1 } }))}`)).toEqual({
      type: 'google_cloud',
      host: null,
      port: null,
      login: null,
      password: null,
      schema: null,
      extra: { project: 'p', nested: { a: 1 } },
    });
  });

  it('reads a JSON object (type or conn_type)', () => {
    expect(parseConnectionText('V', '{"conn_type": "http", "host": "api.example", "port": 443, "password": "pw", "extra": {"verify": false}}')).toEqual({
      type: 'http',
      host: 'api.example',
      port: 443,
      login: null,
      password: 'pw',
      schema: null,
      extra: { verify: false },
    });
  });

  it('refuses what is not a connection, naming the variable and never quoting its value', () => {
    const cases: Array<[string, string]> = [
      ['not a uri p4ssword', 'V is not a connection URI (type://login:password@host:port/schema?extra=value) nor a JSON object'],
      ['http://u:p4ssword@h:99999', 'V is not a connection URI (type://login:password@host:port/schema?extra=value) nor a JSON object'],
      ['http://u:p4ss%E0word@h', 'V: the password is not properly percent-encoded'],
      ['{"host": "h", "password": "p4ssword"}', 'V: the JSON object needs a "type" (e.g. "postgres")'],
      ['{"type": "http", "port": "80"}', 'V: "port" must be a number'],
      ['http://h?__extra__=p4ssword', 'V: __extra__ must be a JSON object'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseConnectionText('V', text)).toThrow(message);
      try {
        parseConnectionText('V', text);
      } catch (e) {
        expect((e as Error).message).not.toContain('p4ss');
      }
    }
  });
});
