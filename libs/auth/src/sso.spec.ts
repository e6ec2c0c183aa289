import { describe, expect, it } from 'vitest';
import { mappedRole, safeReturnPath } from './sso.js';

const MAP = { 'baton-admins': 'tenant_admin', 'baton-devs': 'developer', ops: 'operator', all: 'viewer' };

describe('mappedRole: the highest role any value of the claim maps to', () => {
  it.each<[string, unknown, string | null]>([
    ['one group', 'baton-devs', 'developer'],
    ['groups as an array', ['all', 'baton-devs'], 'developer'],
    ['the highest wins whatever the order', ['baton-admins', 'all'], 'tenant_admin'],
    ['developer and operator: the first of equal rank', ['ops', 'baton-devs'], 'operator'],
    ['no group maps', ['marketing'], null],
    ['no claim', undefined, null],
    ['an empty array', [], null],
    ['not strings', [1, { g: 'all' }, null], null],
    ['a prototype key is not a group', '__proto__', null],
    ['case matters', 'Baton-Admins', null],
  ])('%s', (_what, claim, role) => {
    expect(mappedRole(claim, MAP)).toBe(role);
  });

  it('ignores a value mapped to something that is not a tenant role', () => {
    expect(mappedRole('root', { root: 'platform_admin' })).toBeNull();
  });
});

describe('safeReturnPath: only a path on this site', () => {
  it.each<[unknown, string]>([
    ['/jobs/etl?tab=runs', '/jobs/etl?tab=runs'],
    ['/', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['jobs', '/'],
    ['/a b', '/'],
    [undefined, '/'],
    [`/${'a'.repeat(600)}`, '/'],
  ])('%s -> %s', (path, want) => {
    expect(safeReturnPath(path)).toBe(want);
  });
});
