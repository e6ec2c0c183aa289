import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  type Platform,
  ROOT,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

const ROLES = ['platform_admin', 'tenant_admin', 'developer', 'operator', 'viewer', 'auditor'] as const;
type Role = (typeof ROLES)[number];

interface Row {
  method: string;
  path: string;
  roles: Record<Role, 'yes' | '403' | 'signed'>;
  none: '401' | 'public' | 'signed';
  otherTenant: '404' | 'own' | 'platform' | 'public' | '—';
}

/** The table of docs/security.md ("Every route, per role"): the contract this test holds the API to. */
function readTable(): Row[] {
  const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
  const start = doc.indexOf('<!-- route-table:start -->');
  const end = doc.indexOf('<!-- route-table:end -->');
  expect(start, 'the route table markers in docs/security.md').toBeGreaterThan(0);
  const rows: Row[] = [];
  for (const line of doc.slice(start, end).split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const route = /^`([A-Z]+) (\S+)`$/.exec(cells[0] ?? '');
    if (!route) continue;
    expect(cells, line).toHaveLength(9);
    const roles = Object.fromEntries(ROLES.map((r, i) => [r, cells[i + 1]])) as Row['roles'];
    for (const v of Object.values(roles)) expect(['yes', '403', 'signed'], line).toContain(v);
    expect(['401', 'public', 'signed'], line).toContain(cells[7]);
    expect(['404', 'own', 'platform', 'public', '—'], line).toContain(cells[8]);
    rows.push({
      method: route[1]!,
      path: route[2]!,
      roles,
      none: cells[7] as Row['none'],
      otherTenant: cells[8] as Row['otherTenant'],
    });
  }
  return rows;
}

const NIL = '01900000-0000-7000-8000-000000000000';
/** Values for the path parameters of the role matrix: nothing they name exists, so an allowed call changes nothing. */
const NOWHERE: Record<string, string> = {
  id: NIL,
  name: 'no-such-thing',
  tenant: 'no-such-tenant',
  key: 'a',
  index: '0',
  triggerId: NIL,
};
const fill = (path: string, values: Record<string, string>) =>
  path.replace(/\{(\w+)\}/g, (_m, p: string) => {
    const v = values[p];
    if (v === undefined) throw new Error(`no value for {${p}} in ${path}`);
    return encodeURIComponent(v);
  });

const table = readTable();
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const label = (r: Row) => `${r.method} ${r.path}`;

describe.each(kinds)('every route, per role (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const keys = new Map<Role, string>();
  /** Tenant "default"'s resources, named by the path parameters that address them. */
  const owned: Record<string, string> = {};
  let other: string; // tenant "acme"'s admin key
  let otherSession: Record<string, string>; // a session of acme's admin user: cookie and CSRF header
  let ownerSession = '';

  const ok = async (r: Promise<ApiResponse>, what: string) => {
    const res = await r;
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };
  const login = async (email: string, password: string) => {
    const r = await platform.request('POST', '/api/v1/auth/login', { email, password });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const cookie = /baton_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')![1]!;
    return { cookie: `baton_session=${cookie}`, 'x-csrf-token': r.body.csrfToken as string };
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      localAgent: true,
      env: {
        BATON_ADMIN_EMAIL: 'root@table.test',
        BATON_ADMIN_PASSWORD: 'root-password-long-enough',
        BATON_ALERTS_ALLOW_PRIVATE_URLS: 'true',
      },
    });
    keys.set('platform_admin', platform.token);
    for (const role of ROLES.slice(1)) {
      const k = await ok(platform.api('POST', '/api/v1/api-keys', { name: `table-${role}`, role }), role);
      keys.set(role, k.token as string);
    }
    // Tenant "default" owns one of everything a route addresses by id or name.
    const job = {
      name: 'owned',
      tasks: [{ key: 'a', type: 'shell', command: 'echo owned' }],
      triggers: [{ type: 'cron', cron: '0 0 * * *' }, { type: 'webhook' }],
    };
    await ok(platform.api('PUT', '/api/v1/jobs/owned', job), 'job');
    owned.name = 'owned';
    owned.key = 'a';
    owned.index = '1';
    const run = await ok(platform.api('POST', '/api/v1/jobs/owned/runs', {}), 'run');
    owned.run = run.id as string;
    await waitFor('the owned run', async () => {
      const r = await platform.api('GET', `/api/v1/runs/${owned.run}`);
      return r.body.state === 'succeeded';
    });
    const backfill = { from: '2026-01-01T00:00:00Z', to: '2026-01-02T12:00:00Z' };
    owned.backfill = (await ok(platform.api('POST', '/api/v1/jobs/owned/backfills', backfill), 'backfill'))
      .id as string;
    owned.agentToken = (await ok(platform.api('POST', '/api/v1/agent-tokens', { name: 'owned' }), 'token'))
      .id as string;
    owned.apiKey = (await ok(platform.api('POST', '/api/v1/api-keys', { name: 'owned', role: 'viewer' }), 'key'))
      .id as string;
    const user = { email: 'member@default.test', name: 'member', role: 'viewer' };
    owned.user = (await ok(platform.api('POST', '/api/v1/users', user), 'user')).id as string;
    const invitation = { email: 'invited@default.test', role: 'viewer' };
    owned.invitation = (await ok(platform.api('POST', '/api/v1/invitations', invitation), 'invitation')).id as string;
    await ok(platform.api('PUT', '/api/v1/alert-channels/owned', { type: 'slack', url: 'http://127.0.0.1:9/x' }), 'ch');
    await ok(platform.api('PUT', '/api/v1/alert-rules/owned', { events: ['run_failed'], channels: ['owned'] }), 'r');
    await ok(platform.api('PUT', '/api/v1/pools/owned', { slots: 2 }), 'pool');
    await ok(platform.api('PUT', '/api/v1/secrets/owned', { value: 'owned-value' }), 'secret');
    const root = await login('root@table.test', 'root-password-long-enough');
    ownerSession = (await ok(platform.request('GET', '/api/v1/auth/sessions', undefined, root), 'sessions')).items[0]
      .id as string;

    // Tenant "acme": its admin, by key and by session.
    const acme = await ok(platform.api('POST', '/api/v1/tenants', { name: 'acme' }), 'tenant');
    other = acme.adminToken as string;
    const admin = {
      email: 'admin@acme.test',
      name: 'acme admin',
      role: 'tenant_admin',
      password: 'acme-password-long',
    };
    await ok(platform.api('POST', '/api/v1/users', admin, bearer(other)), 'acme admin');
    otherSession = await login('admin@acme.test', 'acme-password-long');
  });

  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('has a row for every route of the OpenAPI document, and no row for a route that does not exist', async () => {
    const doc = (await platform.request('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.length).toBeGreaterThan(50);
    expect(table.map(label).sort()).toEqual(routes.sort());
  });

  it.each(ROLES)('answers %s as the table says', async (role) => {
    const wrong: string[] = [];
    for (const row of table) {
      const body = row.method === 'GET' || row.method === 'DELETE' ? undefined : {};
      const r = await platform.request(row.method, fill(row.path, NOWHERE), body, bearer(keys.get(role)!));
      // A signed route (a webhook) answers its signature, not the caller's role: 401 without a valid one.
      const got =
        r.status === 403 ? '403' : r.status === 401 ? (row.roles[role] === 'signed' ? 'signed' : '401') : 'yes';
      if (got !== row.roles[role]) wrong.push(`${label(row)}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers 401 without a credential, except on public routes', async () => {
    const wrong: string[] = [];
    for (const row of table) {
      const body = row.method === 'GET' || row.method === 'DELETE' ? undefined : {};
      const r = await platform.request(row.method, fill(row.path, NOWHERE), body);
      const refused = r.status === 401;
      if (refused !== (row.none !== 'public')) wrong.push(`${label(row)}: ${r.status}`);
    }
    expect(wrong).toEqual([]);
  });

  /** A body valid enough to reach the lookup, for the routes that take one. */
  const bodies: Record<string, unknown> = {
    'POST /api/v1/jobs/{name}/backfills': { from: '2026-01-01T00:00:00Z', to: '2026-01-02T12:00:00Z' },
    'POST /api/v1/jobs/{name}/runs': {},
    'POST /api/v1/jobs/{name}/sla/backtest': { sla: { maxDuration: '1h' } },
    'POST /api/v1/jobs/{name}/triggers/{index}/secret': {},
    'POST /api/v1/runs/{id}/cancel': {},
    'POST /api/v1/runs/{id}/rerun': {},
    'POST /api/v1/runs/{id}/tasks/{key}/mark': { state: 'succeeded' },
    'PUT /api/v1/users/{id}/role': { role: 'viewer' },
  };
  /** Which of tenant default's resources `{id}` names, per route. */
  const idOf = (path: string): string => {
    const first = path.split('/')[3]!;
    const byCollection: Record<string, string> = {
      'agent-tokens': owned.agentToken!,
      'api-keys': owned.apiKey!,
      auth: ownerSession,
      backfills: owned.backfill!,
      invitations: owned.invitation!,
      runs: owned.run!,
      users: owned.user!,
    };
    const id = byCollection[first];
    if (id === undefined) throw new Error(`which resource does {id} of ${path} name?`);
    return id;
  };

  it("answers another tenant's ids and names with 404", async () => {
    const wrong: string[] = [];
    for (const row of table.filter((r) => r.otherTenant === '404')) {
      const path = fill(row.path, row.path.includes('{id}') ? { ...owned, id: idOf(row.path) } : owned);
      const body = bodies[label(row)];
      // A session route needs a session; the others are called with acme's admin key.
      const as = row.path.startsWith('/api/v1/auth/') ? otherSession : bearer(other);
      const r = await platform.request(row.method, path, body, as);
      if (r.status !== 404) wrong.push(`${label(row)} (${path}): ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect(wrong).toEqual([]);
    // And the owner still has all of it.
    expect((await platform.api('GET', `/api/v1/runs/${owned.run}`)).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/jobs/owned')).status).toBe(200);
    const users = (await platform.api('GET', '/api/v1/users')).body.items as Array<{ id: string; role: string }>;
    expect(users.find((u) => u.id === owned.user)?.role).toBe('viewer');
  });

  it("writes a name another tenant also uses in the caller's own tenant, leaving the other's as it is", async () => {
    const bodiesByName: Record<string, unknown> = {
      'PUT /api/v1/jobs/{name}': { name: 'owned', tasks: [{ key: 'b', type: 'noop' }] },
      'PUT /api/v1/alert-channels/{name}': { type: 'slack', url: 'http://127.0.0.1:9/acme' },
      'PUT /api/v1/alert-rules/{name}': { events: ['task_failed'], channels: ['owned'] },
      'PUT /api/v1/pools/{name}': { slots: 7 },
      'PUT /api/v1/secrets/{name}': { value: 'acme-value' },
    };
    const getters: Record<string, string> = {
      'PUT /api/v1/jobs/{name}': '/api/v1/jobs/owned',
      'PUT /api/v1/alert-channels/{name}': '/api/v1/alert-channels/owned',
      'PUT /api/v1/alert-rules/{name}': '/api/v1/alert-rules/owned',
      'PUT /api/v1/pools/{name}': '/api/v1/pools/owned',
      'PUT /api/v1/secrets/{name}': '/api/v1/secrets',
    };
    const rows = table.filter((r) => r.otherTenant === 'own');
    expect(rows.map(label).sort()).toEqual(Object.keys(bodiesByName).sort());
    for (const row of rows) {
      const before = (await platform.api('GET', getters[label(row)]!)).body;
      const r = await platform.request(row.method, fill(row.path, owned), bodiesByName[label(row)], bearer(other));
      expect(r.status, `${label(row)}: ${JSON.stringify(r.body)}`).toBe(201);
      expect((await platform.api('GET', getters[label(row)]!)).body, label(row)).toEqual(before);
    }
  });
});
