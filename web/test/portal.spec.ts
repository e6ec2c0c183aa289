import { describe, expect, it } from 'vitest';
import { ROLES, ROLE_RANK, TENANT_ROLES, abilityFor } from '@baton/auth';
import { routePermissions } from '../src/api/openapi.gen';
import { MEMBER_ROLES, ROLE_RANK as PORTAL_RANK, ROLES as PORTAL_ROLES, roleCan } from '../src/auth/roles';
import en from '../src/i18n/locales/en.json';
import zhCN from '../src/i18n/locales/zh-CN.json';
// @ts-expect-error -- the generator is a plain ES module without types
import { supplement } from '../scripts/gen-api.mjs';

type Action = Parameters<ReturnType<typeof abilityFor>['can']>[0];
type Subject = Parameters<ReturnType<typeof abilityFor>['can']>[1];

describe('role-aware screens', () => {
  const permissions = [...new Set(Object.values(routePermissions))].sort();

  it.each(ROLES)('%s: the portal hides exactly what libs/auth forbids, for every route permission', (role) => {
    for (const p of permissions) {
      const [action, subject] = p.split(' ') as [Action, Subject];
      expect(roleCan(role, p), `${role} ${p}`).toBe(abilityFor(role).can(action, subject));
    }
  });

  it('offers the roles and ranks libs/auth grants by', () => {
    expect(PORTAL_ROLES).toEqual([...ROLES]);
    expect(PORTAL_RANK).toEqual(ROLE_RANK);
    expect(MEMBER_ROLES).toEqual([...TENANT_ROLES]);
  });
});

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('translations', () => {
  it('Simplified Chinese has every English string and no other', () => {
    expect(keys(zhCN).sort()).toEqual(keys(en).sort());
  });

  it('no string is left empty', () => {
    const at = (o: object, k: string) => k.split('.').reduce<unknown>((x, p) => (x as Record<string, unknown>)[p], o);
    for (const [name, catalogue] of [
      ['en', en],
      ['zh-CN', zhCN],
    ] as const)
      expect(
        keys(catalogue).filter((k) => at(catalogue, k) === ''),
        name,
      ).toEqual([]);
  });
});

describe('the OpenAPI supplement', () => {
  const served = {
    paths: {
      '/api/v1/runs': {
        get: { parameters: [{ name: 'job', in: 'query' }], responses: { '200': { description: 'success' } } },
      },
    },
  };

  it('adds response schemas and parameters the served document lacks', () => {
    const merged = supplement(served, {
      components: { schemas: { RunList: { type: 'object' } } },
      paths: {
        '/api/v1/runs': {
          get: {
            parameters: [{ name: 'limit', in: 'query' }],
            responses: { '200': { content: { 'application/json': { schema: { type: 'object' } } } } },
          },
        },
      },
    });
    expect(merged.paths['/api/v1/runs'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['job', 'limit']);
    expect(merged.paths['/api/v1/runs'].get.responses['200'].content).toBeDefined();
    expect(merged.components.schemas.RunList).toEqual({ type: 'object' });
  });

  it.each([
    ['a route the API no longer serves', { paths: { '/api/v1/gone': { get: {} } } }, 'GET /api/v1/gone is not served'],
    [
      'a parameter the API documents now',
      { paths: { '/api/v1/runs': { get: { parameters: [{ name: 'job', in: 'query' }] } } } },
      'parameter query.job is served now',
    ],
  ])('refuses %s', (_, extra, message) => {
    expect(() => supplement(served, extra)).toThrow(message);
  });

  it('refuses a response the API describes itself now', () => {
    const documented = structuredClone(served) as typeof served & Record<string, unknown>;
    (documented.paths['/api/v1/runs'].get.responses['200'] as Record<string, unknown>).content = {};
    expect(() =>
      supplement(documented, { paths: { '/api/v1/runs': { get: { responses: { '200': { content: {} } } } } } }),
    ).toThrow('response 200 is described by the API now');
  });
});
