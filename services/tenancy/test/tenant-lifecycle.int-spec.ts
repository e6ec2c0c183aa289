import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Platform,
  type RawAgent,
  type TestDatabase,
  createTestDatabase,
  rawAgent,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

describe.each(kinds)('tenant lifecycle and API key expiry (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const open: RawAgent[] = [];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const actIn = (tenant: string) => ({ 'x-baton-tenant': tenant });
  const welcomed = async (token: string, name: string) => {
    const a = rawAgent(platform.grpc, token, name);
    open.push(a);
    return waitFor(`agent ${name} welcomed or refused`, async () => (a.of('welcome').length > 0 || a.error ? a : null));
  };
  const slots = async (tenant: string) =>
    (await platform.api('GET', '/api/v1/jobs/ticker/slots?limit=200', undefined, actIn(tenant))).body.items as Array<{
      outcome: string;
      runId: string | null;
    }>;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url });
  });
  afterAll(async () => {
    for (const a of open) a.close();
    await platform?.stop();
    await db?.drop();
  });

  it('suspends a tenant: calls 403 with the reason, agents refused, triggers record skipped slots; resume undoes it', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'acme' });
    expect(t.status).toBe(201);
    const acme = bearer(t.body.adminToken as string);
    const put = await platform.api(
      'PUT',
      '/api/v1/jobs/ticker',
      { name: 'ticker', triggers: [{ type: 'cron', cron: '* * * * * *' }], tasks: [{ key: 'a', type: 'noop' }] },
      acme,
    );
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const agentToken = (await platform.api('POST', '/api/v1/agent-tokens', { name: 'acme' }, acme)).body.token;
    await waitFor('a fired slot', async () => ((await slots('acme')).some((s) => s.outcome === 'fired') ? true : null));

    // Only a platform admin suspends, with a reason; the platform's own tenant cannot be.
    expect((await platform.api('POST', `/api/v1/tenants/${t.body.id}/suspend`, { reason: 'x' }, acme)).status).toBe(
      403,
    );
    const noReason = await platform.api('POST', '/api/v1/tenants/acme/suspend', {});
    expect([noReason.status, noReason.body.errors?.[0]?.path]).toEqual([400, 'reason']);
    expect((await platform.api('POST', '/api/v1/tenants/default/suspend', { reason: 'no' })).status).toBe(409);
    const s = await platform.api('POST', '/api/v1/tenants/acme/suspend', { reason: 'invoice 42 unpaid' });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body).toMatchObject({ name: 'acme', state: 'suspended', stateReason: 'invoice 42 unpaid' });

    const refused = await platform.api('GET', '/api/v1/jobs', undefined, acme);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toBe('tenant acme is suspended: invoice 42 unpaid');
    const agent = await welcomed(agentToken, 'acme-agent');
    expect(agent.error?.code).toBe(7); // PERMISSION_DENIED
    expect(agent.error?.details).toContain('tenant acme is suspended');

    // Its cron slots keep coming and are recorded as skipped, with no run.
    const runsBefore = (await platform.api('GET', '/api/v1/runs?job=ticker&limit=500', undefined, actIn('acme'))).body
      .items.length;
    await waitFor('two skipped slots', async () =>
      (await slots('acme')).filter((x) => x.outcome === 'skipped_suspended').length >= 2 ? true : null,
    );
    for (const x of (await slots('acme')).filter((y) => y.outcome === 'skipped_suspended')) expect(x.runId).toBeNull();
    const runsDuring = (await platform.api('GET', '/api/v1/runs?job=ticker&limit=500', undefined, actIn('acme'))).body
      .items.length;
    // At most a run of the slot that was being fired as the suspension committed.
    expect(runsDuring - runsBefore).toBeLessThanOrEqual(1);

    // The change is in the tenant's audit log and the platform admin's.
    const audit = await platform.api('GET', '/api/v1/audit?limit=50', undefined, actIn('acme'));
    expect(audit.status).toBe(200);
    expect(audit.body.items.some((r: any) => r.action === 'tenant.suspended')).toBe(true);

    const r = await platform.api('POST', '/api/v1/tenants/acme/resume');
    expect(r.body).toMatchObject({ state: 'active', stateReason: null });
    expect((await platform.api('GET', '/api/v1/jobs', undefined, acme)).status).toBe(200);
    const back = await welcomed(agentToken, 'acme-agent-2');
    expect(back.error).toBeNull();
    const fired = (await slots('acme')).filter((x) => x.outcome === 'fired').length;
    await waitFor('slots firing again', async () =>
      (await slots('acme')).filter((x) => x.outcome === 'fired').length > fired ? true : null,
    );
    await platform.api('PUT', '/api/v1/jobs/ticker', { name: 'ticker', tasks: [{ key: 'a', type: 'noop' }] }, acme);
  });

  it('lets only platform admins act inside another tenant (X-Baton-Tenant), recorded in that tenant', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'globex' });
    const globex = bearer(t.body.adminToken as string);
    const put = await platform.api(
      'PUT',
      '/api/v1/jobs/inside',
      { name: 'inside', tasks: [{ key: 'a', type: 'noop' }] },
      actIn('globex'),
    );
    expect(put.status).toBe(201);
    // The job is globex's, not the platform admin's own tenant's.
    expect((await platform.api('GET', '/api/v1/jobs/inside', undefined, globex)).status).toBe(200);
    expect((await platform.api('GET', '/api/v1/jobs/inside')).status).toBe(404);
    expect((await platform.api('GET', '/api/v1/whoami', undefined, actIn(t.body.id))).body).toMatchObject({
      tenant: { name: 'globex' },
      actingFrom: expect.any(String),
    });
    const other = await platform.api('GET', '/api/v1/jobs', undefined, { ...globex, ...actIn('acme') });
    expect([other.status, other.body.detail]).toEqual([
      403,
      'X-Baton-Tenant: only platform admins act inside another tenant',
    ]);
    expect((await platform.api('GET', '/api/v1/jobs', undefined, actIn('nope'))).status).toBe(404);
    const trail = await waitFor('the audit record of the change', async () => {
      const a = await platform.api('GET', '/api/v1/audit?limit=50', undefined, globex);
      return a.body.items.find((x: any) => x.action.startsWith('PUT') && x.target === '/api/v1/jobs/inside') ?? null;
    });
    expect(trail.actor).toContain('acting from tenant');
    expect(trail.detail).toMatchObject({ actingFrom: expect.any(String) });
  });

  it('deletes softly, refuses the deleted tenant, and purges its rows on request only', async () => {
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'initech' });
    const initech = bearer(t.body.adminToken as string);
    await platform.api('PUT', '/api/v1/jobs/j', { name: 'j', tasks: [{ key: 'a', type: 'noop' }] }, initech);
    const early = await platform.api('POST', '/api/v1/tenants/initech/purge');
    expect([early.status, early.body.detail]).toEqual([409, 'tenant initech is active: delete it before purging it']);
    const d = await platform.api('DELETE', '/api/v1/tenants/initech', { reason: 'closed account' });
    expect(d.body).toMatchObject({ state: 'deleted', stateReason: 'closed account' });
    expect((await platform.api('GET', '/api/v1/jobs', undefined, initech)).body.detail).toBe(
      'tenant initech is deleted: closed account',
    );
    expect((await platform.api('POST', '/api/v1/tenants/initech/resume')).status).toBe(409);
    const listed = await platform.api('GET', '/api/v1/tenants?state=deleted');
    expect(listed.body.items.map((x: any) => x.name)).toEqual(['initech']);
    expect((await platform.api('GET', '/api/v1/tenants?state=gone')).status).toBe(400);

    const p = await platform.api('POST', '/api/v1/tenants/initech/purge');
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.deleted).toMatchObject({ api_keys: 1, jobs: 1 });
    expect((await platform.api('GET', '/api/v1/tenants/initech')).status).toBe(404);
    expect((await platform.api('GET', '/api/v1/jobs', undefined, initech)).status).toBe(401);
  });

  it('expires API keys and records when each was last used', async () => {
    const bad = await platform.api('POST', '/api/v1/api-keys', { name: 'k', expiresIn: 'soon' });
    expect([bad.status, bad.body.errors?.[0]?.path]).toEqual([400, 'expiresIn']);
    const past = await platform.api('POST', '/api/v1/api-keys', { name: 'k', expiresAt: '2020-01-01T00:00:00Z' });
    expect([past.status, past.body.errors?.[0]?.path]).toEqual([400, 'expiresAt']);
    const both = await platform.api('POST', '/api/v1/api-keys', {
      name: 'k',
      expiresIn: '1h',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect([both.status, both.body.errors?.[0]?.path]).toEqual([400, 'expiresIn']);

    const k = await platform.api('POST', '/api/v1/api-keys', { name: 'short', role: 'viewer', expiresIn: '2s' });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    expect(Date.parse(k.body.expiresAt) - Date.now()).toBeLessThanOrEqual(2_000);
    expect((await platform.api('GET', '/api/v1/jobs', undefined, bearer(k.body.token))).status).toBe(200);
    const listed = (await platform.api('GET', '/api/v1/api-keys')).body.items.find((x: any) => x.id === k.body.id);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(listed).not.toHaveProperty('token');
    expect(listed).not.toHaveProperty('hash');
    const expired = await waitFor('the key to expire', async () => {
      const r = await platform.api('GET', '/api/v1/jobs', undefined, bearer(k.body.token));
      return r.status === 401 ? r : null;
    });
    expect(expired.body.detail).toMatch(/^the API key expired at /);
  });
});

describe.each(kinds)('calls per API key and per session (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, env: { BATON_RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('answers 429 with Retry-After past the limit, per credential', async () => {
    // The platform admin's key creates a tenant (1 call); the tenant's key is counted apart from it.
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'busy' });
    const busy = { authorization: `Bearer ${t.body.adminToken as string}` };
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await platform.api('GET', '/api/v1/jobs', undefined, busy)).status);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await platform.api('GET', '/api/v1/jobs', undefined, busy);
    expect(limited.body.detail).toBe('rate limit: 5 calls a minute per API key');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await platform.api('GET', '/api/v1/jobs')).status).toBe(200);
  });
});
