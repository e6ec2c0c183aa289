import { describe, expect, it } from 'vitest';
import { describeSqlUrl, maskSqlUrl, redactSqlSecrets, toJsonSafe } from './sql.js';

describe('sql helpers', () => {
  it('describes a url as host/database, without credentials or parameters', () => {
    expect(describeSqlUrl('postgres://app:s3cr%40t@db.example:5433/orders?sslmode=require')).toBe(
      'db.example:5433/orders',
    );
    expect(describeSqlUrl('mysql://root@127.0.0.1/test')).toBe('127.0.0.1/test');
    expect(describeSqlUrl('not a url with password hunter2')).toBe('(unparsable url)');
  });

  it('masks the password of a url and redacts it from messages', () => {
    const url = 'postgres://app:s3cr%40t@db.example:5433/orders';
    expect(maskSqlUrl(url)).toBe('postgres://app:***@db.example:5433/orders');
    expect(maskSqlUrl('mysql://root@h/db')).toBe('mysql://root@h/db');
    expect(redactSqlSecrets(`cannot reach ${url}: password s3cr@t rejected (s3cr%40t)`, url)).toBe(
      'cannot reach postgres://app:***@db.example:5433/orders: password *** rejected (***)',
    );
  });

  it('makes driver values JSON-safe', () => {
    const row = {
      big: 9007199254740993n,
      bytes: Buffer.from([0, 255]),
      at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      bad: new Date(NaN),
      nested: { list: [1n, null, undefined], ok: true },
      inf: Infinity,
    };
    expect(toJsonSafe(row)).toEqual({
      big: '9007199254740993',
      bytes: 'AP8=',
      at: '2024-01-02T03:04:05.000Z',
      bad: null,
      nested: { list: ['1', null, null], ok: true },
      inf: 'Infinity',
    });
  });
});
