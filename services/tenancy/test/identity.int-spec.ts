import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface Session {
  cookie: string;
  csrf: string;
  body: ApiResponse['body'];
}

describe.each(kinds)('people and sessions (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  const rootEmail = 'Root@Baton.test';
  const rootPassword = randomBytes(18).toString('base64url');
  const pw = () => randomBytes(9).toString('base64url');

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    platform.request(method, path, body, headers);
  const login = async (email: string, password: string, tenant?: string) => {
    const r = await call('POST', '/api/v1/auth/login', { email, password, ...(tenant ? { tenant } : {}) });
    const cookie = /baton_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    return { ...r, session: cookie ? { cookie, csrf: r.body.csrfToken as string, body: r.body } : null };
  };
  const signIn = async (email: string, password: string, tenant?: string): Promise<Session> => {
    const r = await login(email, password, tenant);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.session!;
  };
  /** Cookie and CSRF header, as the portal sends them. */
  const as = (s: Session) => ({ cookie: `baton_session=${s.cookie}`, 'x-csrf-token': s.csrf });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: {
        BATON_ADMIN_EMAIL: rootEmail,
        BATON_ADMIN_PASSWORD: rootPassword,
        BATON_LOGIN_ATTEMPTS_PER_EMAIL: '3',
        BATON_LOGIN_ATTEMPTS_PER_IP: '12',
        BATON_LOGIN_WINDOW_MS: '3600000',
        BATON_SESSION_IDLE_MS: '6000',
      },
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('creates the platform admin from BATON_ADMIN_EMAIL/PASSWORD, who logs in whatever the email case', async () => {
    const r = await login('root@baton.TEST', rootPassword);
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // development mode
    expect(r.body).toMatchObject({
      credential: 'session',
      user: { email: rootEmail, platformAdmin: true },
      tenant: { name: 'default' },
      role: 'platform_admin',
      memberships: [{ tenant: { name: 'default' }, role: 'tenant_admin' }],
    });
    expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(r.body)).not.toContain(r.session!.cookie);
    expect(platform.output()).not.toContain(rootPassword);

    const s = r.session!;
    const me = await call('GET', '/api/v1/auth/session', undefined, as(s));
    expect(me.body).toMatchObject({ user: { email: rootEmail }, role: 'platform_admin', csrfToken: s.csrf });
    // Every existing route takes the session as it takes an API key.
    expect((await call('GET', '/api/v1/jobs', undefined, as(s))).status).toBe(200);
    expect((await call('GET', '/api/v1/whoami', undefined, as(s))).body).toMatchObject({
      tenant: { name: 'default' },
      credential: 'session',
      userId: r.body.user.id,
    });
    expect((await call('GET', '/api/v1/jobs')).status).toBe(401);
    expect((await call('GET', '/api/v1/jobs', undefined, { cookie: 'baton_session=bat_ses_forged' })).status).toBe(401);
  });

  it('refuses a change made with the session cookie but without its CSRF token; API keys need none', async () => {
    const s = await signIn(rootEmail, rootPassword);
    const other = await signIn(rootEmail, rootPassword);
    const job = { name: 'csrf', tasks: [{ key: 'a', type: 'noop' }] };
    const bare = await call('PUT', '/api/v1/jobs/csrf', job, { cookie: `baton_session=${s.cookie}` });
    expect(bare.status).toBe(403);
    expect(bare.body.detail).toContain('X-CSRF-Token');
    const wrong = await call('PUT', '/api/v1/jobs/csrf', job, { ...as(s), 'x-csrf-token': other.csrf });
    expect(wrong.status).toBe(403);
    expect((await call('GET', '/api/v1/jobs/csrf', undefined, as(s))).status).toBe(404);
    expect((await call('PUT', '/api/v1/jobs/csrf', job, as(s))).status).toBe(201);
    expect((await call('PUT', '/api/v1/jobs/csrf2', { ...job, name: 'csrf2' }, bearer(platform.token))).status).toBe(
      201,
    );
    // Logging out changes something too.
    expect((await call('POST', '/api/v1/auth/logout', undefined, { cookie: `baton_session=${s.cookie}` })).status).toBe(
      403,
    );
  });

  it('answers a wrong email and a wrong password alike, and audits failed and successful logins', async () => {
    const unknown = await login('nobody@baton.test', 'whatever-it-is');
    const wrong = await login(rootEmail, 'not-the-password');
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(unknown.session).toBeNull();
    const log = await waitFor('the login audit records', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=1000')).body.items as Array<{
        action: string;
        actor: string;
        status: number;
      }>;
      const failed = items.filter((a) => a.action === 'auth.login-failed');
      return failed.length >= 2 ? items : null;
    });
    const failed = log.filter((a) => a.action === 'auth.login-failed').map((a) => a.actor);
    expect(failed).toEqual(expect.arrayContaining(['login:nobody@baton.test', 'login:root@baton.test']));
    expect(log.some((a) => a.action === 'auth.login' && a.actor.startsWith(`platform_admin:${rootEmail} (user `))).toBe(
      true,
    );
    expect(JSON.stringify(log)).not.toContain('not-the-password');
  });

  it('rate limits failed logins per email with 429 and Retry-After, the right password included', async () => {
    const password = pw();
    const add = await platform.api('POST', '/api/v1/users', {
      email: 'limited@baton.test',
      name: 'Limited',
      password: `${password}-long-enough`,
      role: 'viewer',
    });
    expect(add.status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await login('limited@baton.test', 'wrong')).status).toBe(401);
    const limited = await login('LIMITED@baton.test', `${password}-long-enough`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another email from the same address is not held up by this one.
    expect((await login(rootEmail, rootPassword)).status).toBe(200);
    // Guesses sent at once get no more tries than guesses sent one after the other.
    const burst = await Promise.all(Array.from({ length: 6 }, () => login('burst@baton.test', 'wrong')));
    expect(burst.map((r) => r.status).sort()).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it('lets tenant admins manage their members within their rank, never another tenant, never the last admin', async () => {
    const acme = (await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).body.adminToken as string;
    const A = bearer(acme);
    const devPassword = `${pw()}-dev`;
    const dev = await platform.api(
      'POST',
      '/api/v1/users',
      { email: 'dev@acme.test', name: 'Dev', password: devPassword, role: 'developer' },
      A,
    );
    expect(dev.status).toBe(201);
    expect(dev.body).toMatchObject({ email: 'dev@acme.test', role: 'developer', created: true });
    expect(JSON.stringify(dev.body)).not.toMatch(/argon2|password/i);
    expect(
      (await platform.api('POST', '/api/v1/users', { email: 'DEV@acme.test', name: 'x', role: 'viewer' }, A)).status,
    ).toBe(409);
    const bad = await platform.api(
      'POST',
      '/api/v1/users',
      { email: 'x@acme.test', name: 'x', role: 'platform_admin' },
      A,
    );
    expect([bad.status, bad.body.errors[0].path]).toEqual([400, 'role']);
    const short = await platform.api(
      'POST',
      '/api/v1/users',
      { email: 'x@acme.test', name: 'x', password: 'short', role: 'viewer' },
      A,
    );
    expect(short.body.errors[0].path).toBe('password');

    // A developer may not manage people at all.
    const devSession = await signIn('dev@acme.test', devPassword);
    expect(devSession.body).toMatchObject({ tenant: { name: 'acme' }, role: 'developer' });
    expect((await call('GET', '/api/v1/users', undefined, as(devSession))).status).toBe(403);
    expect(
      (await call('POST', '/api/v1/users', { email: 'y@acme.test', name: 'y', role: 'viewer' }, as(devSession))).status,
    ).toBe(403);

    // The platform admin joins acme; acme's tenant_admin cannot touch a role above its own.
    const root = (await platform.api('GET', '/api/v1/users')).body.items.find(
      (u: { email: string }) => u.email === rootEmail,
    );
    const joined = await platform.api(
      'POST',
      '/api/v1/users',
      { email: rootEmail, name: 'ignored', role: 'viewer' },
      A,
    );
    expect(joined.body).toMatchObject({ id: root.id, created: false, name: 'Platform admin' });
    // Someone else's account keeps its password.
    expect(
      (
        await platform.api(
          'POST',
          '/api/v1/users',
          { email: rootEmail, name: 'x', password: 'attacker-chosen-1', role: 'viewer' },
          A,
        )
      ).body.errors[0].path,
    ).toBe('password');
    expect((await platform.api('PUT', `/api/v1/users/${root.id}/role`, { role: 'developer' }, A)).status).toBe(403);
    expect((await platform.api('DELETE', `/api/v1/users/${root.id}`, undefined, A)).status).toBe(403);
    const inAcme = await signIn(rootEmail, rootPassword, 'acme');
    expect(inAcme.body).toMatchObject({ tenant: { name: 'acme' }, role: 'platform_admin' });
    expect((await login(rootEmail, rootPassword, 'nowhere')).body.errors[0].path).toBe('tenant');
    const back = await call('POST', '/api/v1/auth/tenant', { tenant: 'default' }, as(inAcme));
    expect(back.body).toMatchObject({ tenant: { name: 'default' }, role: 'platform_admin' });
    expect((await call('GET', '/api/v1/whoami', undefined, as(inAcme))).body.tenant.name).toBe('default');
    expect((await call('POST', '/api/v1/auth/tenant', { tenant: 'elsewhere' }, as(devSession))).status).toBe(404);

    // Another tenant's people are not found.
    const listed = (await platform.api('GET', '/api/v1/users')).body.items.map((u: { email: string }) => u.email);
    expect(listed).not.toContain('dev@acme.test');
    expect((await platform.api('PUT', `/api/v1/users/${dev.body.id}/role`, { role: 'viewer' })).status).toBe(404);
    expect((await platform.api('DELETE', `/api/v1/users/${dev.body.id}`)).status).toBe(404);
    const acmeList = (await platform.api('GET', '/api/v1/users', undefined, A)).body.items.map(
      (u: { email: string }) => u.email,
    );
    expect(acmeList.sort()).toEqual(['Root@Baton.test', 'dev@acme.test']);

    // The last tenant_admin stays.
    const boss = (
      await platform.api('POST', '/api/v1/users', { email: 'boss@acme.test', name: 'Boss', role: 'tenant_admin' }, A)
    ).body;
    expect((await platform.api('PUT', `/api/v1/users/${boss.id}/role`, { role: 'viewer' }, A)).status).toBe(409);
    expect((await platform.api('DELETE', `/api/v1/users/${boss.id}`, undefined, A)).status).toBe(409);
    const boss2 = (
      await platform.api('POST', '/api/v1/users', { email: 'boss2@acme.test', name: 'Boss 2', role: 'tenant_admin' }, A)
    ).body;
    const demoted = await platform.api('PUT', `/api/v1/users/${boss.id}/role`, { role: 'operator' }, A);
    expect([demoted.status, demoted.body.role]).toEqual([200, 'operator']);
    expect((await platform.api('DELETE', `/api/v1/users/${boss2.id}`, undefined, A)).status).toBe(409);

    // Removing a member ends their sessions in the tenant at once.
    const removed = await platform.api('DELETE', `/api/v1/users/${dev.body.id}`, undefined, A);
    expect(removed.status).toBe(200);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(devSession))).status).toBe(401);
    expect((await login('dev@acme.test', devPassword)).status).toBe(403);
  });

  it("does not let a tenant_admin revoke a platform admin's key, nor issue a key above its own role", async () => {
    const admin = (await platform.api('POST', '/api/v1/api-keys', { name: 'ta', role: 'tenant_admin' })).body;
    const T = bearer(admin.token);
    const keys = (await platform.api('GET', '/api/v1/api-keys', undefined, T)).body.items as Array<{
      id: string;
      role: string;
    }>;
    const platformKey = keys.find((k) => k.role === 'platform_admin')!;
    const denied = await platform.api('DELETE', `/api/v1/api-keys/${platformKey.id}`, undefined, T);
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('platform_admin');
    expect((await platform.api('GET', '/api/v1/whoami')).status).toBe(200);
    const dev = (await platform.api('POST', '/api/v1/api-keys', { name: 'd', role: 'developer' }, T)).body;
    expect((await platform.api('DELETE', `/api/v1/api-keys/${dev.id}`, undefined, T)).status).toBe(200);
    expect((await platform.api('POST', '/api/v1/api-keys', { name: 't2', role: 'tenant_admin' }, T)).status).toBe(201);
    // A tenant_admin user's session stops at the same rank.
    const password = `${pw()}-admin`;
    await platform.api('POST', '/api/v1/users', { email: 'ta@baton.test', name: 'TA', password, role: 'tenant_admin' });
    const s = await signIn('ta@baton.test', password);
    expect((await call('DELETE', `/api/v1/api-keys/${platformKey.id}`, undefined, as(s))).status).toBe(403);
    const rootId = (await platform.api('GET', '/api/v1/users')).body.items.find(
      (u: { email: string }) => u.email === rootEmail,
    ).id;
    expect((await call('DELETE', `/api/v1/users/${rootId}`, undefined, as(s))).status).toBe(403);
  });

  it('lists and revokes the user’s own sessions, never showing tokens, and logs out', async () => {
    const password = `${pw()}-sess`;
    await platform.api('POST', '/api/v1/users', { email: 'sess@baton.test', name: 'S', password, role: 'viewer' });
    const s1 = await signIn('sess@baton.test', password);
    const s2 = await signIn('sess@baton.test', password);
    const rootSession = await signIn(rootEmail, rootPassword);
    const listed = await call('GET', '/api/v1/auth/sessions', undefined, as(s1));
    expect(listed.body.items.map((x: { current: boolean }) => x.current).sort()).toEqual([false, true]);
    const text = JSON.stringify(listed.body);
    for (const t of [s1.cookie, s2.cookie, s1.csrf]) expect(text).not.toContain(t);
    expect(text).not.toContain('hash');
    // Another user's session is not found.
    const rootsId = rootSession.body.session.id as string;
    expect((await call('DELETE', `/api/v1/auth/sessions/${rootsId}`, undefined, as(s1))).status).toBe(404);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(rootSession))).status).toBe(200);
    // A viewer may still end its own sessions.
    const s2id = s2.body.session.id as string;
    expect((await call('DELETE', `/api/v1/auth/sessions/${s2id}`, undefined, as(s1))).status).toBe(200);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s2))).status).toBe(401);
    const out = await call('POST', '/api/v1/auth/logout', undefined, as(s1));
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/baton_session=;/);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s1))).status).toBe(401);
    expect((await platform.api('GET', '/api/v1/auth/sessions')).status).toBe(400);
    const log = await waitFor('the logout audit record', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=1000')).body.items as Array<{ action: string }>;
      return items.some((a) => a.action === 'auth.logout') ? items : null;
    });
    expect(log.filter((a) => a.action === 'auth.session-revoked')).toHaveLength(1);
  });

  it('ends a session left idle', async () => {
    const s = await signIn(rootEmail, rootPassword);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 6_500));
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s))).status).toBe(401);
  });

  describe('who may call the people routes, per role', () => {
    const keys = new Map<string, string>();
    const keyOf = async (role: string) => {
      if (role === 'platform_admin') return platform.token;
      if (!keys.has(role)) {
        const r = await platform.api('POST', '/api/v1/api-keys', { name: `table-${role}`, role });
        expect(r.status).toBe(201);
        keys.set(role, r.body.token as string);
      }
      return keys.get(role)!;
    };
    const none = '01900000-0000-7000-8000-000000000000';
    const routes: Array<[string, string, unknown]> = [
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/users', {}],
      ['PUT', `/api/v1/users/${none}/role`, {}],
      ['DELETE', `/api/v1/users/${none}`, undefined],
      ['GET', '/api/v1/invitations', undefined],
      ['POST', '/api/v1/invitations', {}],
      ['DELETE', `/api/v1/invitations/${none}`, undefined],
    ];
    const table: Array<[string, boolean]> = [
      ['platform_admin', true],
      ['tenant_admin', true],
      ['developer', false],
      ['operator', false],
      ['viewer', false],
      ['auditor', false],
    ];
    it.each(table)('%s: allowed %s', async (role, allowed) => {
      const token = await keyOf(role);
      for (const [method, path, body] of routes) {
        const r = await platform.api(method, path, body, bearer(token));
        // Allowed calls get past the permission check and fail (or not) on their input instead.
        if (allowed) expect(r.status, `${role} ${method} ${path}`).not.toBe(403);
        else expect(r.status, `${role} ${method} ${path}`).toBe(403);
      }
      // Every role may ask who it is; sessions of its own are for users, not keys.
      expect((await platform.api('GET', '/api/v1/auth/session', undefined, bearer(token))).body.role).toBe(role);
      expect((await platform.api('GET', '/api/v1/auth/sessions', undefined, bearer(token))).status).toBe(400);
    });
  });

  it('describes the routes in the OpenAPI document, with the session cookie as a credential', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json')).body;
    expect(doc.components.securitySchemes.session).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'baton_session',
    });
    const loginOp = doc.paths['/api/v1/auth/login'].post;
    expect(loginOp.security).toBeUndefined();
    expect(Object.keys(loginOp.requestBody.content['application/json'].schema.properties).sort()).toEqual([
      'email',
      'password',
      'tenant',
    ]);
    expect(doc.paths['/api/v1/users'].post['x-baton-permission']).toBe('create User');
    expect(doc.paths['/api/v1/users/{id}/role'].put['x-baton-permission']).toBe('update User');
    expect(doc.paths['/api/v1/auth/sessions/{id}'].delete.security).toEqual([{ bearer: [] }, { session: [] }]);
  });

  it('names the bad field of a login', async () => {
    expect((await call('POST', '/api/v1/auth/login', { email: 'no-at-sign', password: 'x' })).body.errors[0].path).toBe(
      'email',
    );
    expect((await call('POST', '/api/v1/auth/login', { email: rootEmail })).body.errors[0].path).toBe('password');
  });

  it('rate limits failed logins per client address', async () => {
    let limited: Awaited<ReturnType<typeof login>> | null = null;
    for (let i = 0; i < 13 && !limited; i++) {
      const r = await login(`stranger${i}@baton.test`, 'wrong');
      if (r.status === 429) limited = r;
      else expect(r.status).toBe(401);
    }
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    // Even the right password waits now, from this address; a forged X-Forwarded-For is not believed.
    expect((await login(rootEmail, rootPassword)).status).toBe(429);
    const forged = await call(
      'POST',
      '/api/v1/auth/login',
      { email: rootEmail, password: rootPassword },
      { 'x-forwarded-for': '198.51.100.7' },
    );
    expect(forged.status).toBe(429);
  });
});

describe.each(kinds)('login limits behind a trusted proxy (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: { BATON_TRUST_PROXY: 'loopback', BATON_LOGIN_ATTEMPTS_PER_IP: '2', BATON_LOGIN_ATTEMPTS_PER_EMAIL: '100' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('counts failed logins per client address as the proxy forwards it', async () => {
    const from = (ip: string, email: string, password = 'wrong') =>
      platform.request('POST', '/api/v1/auth/login', { email, password }, { 'x-forwarded-for': ip });
    expect((await from('203.0.113.1', 'a@baton.test')).status).toBe(401);
    expect((await from('203.0.113.1', 'b@baton.test')).status).toBe(401);
    expect((await from('203.0.113.1', 'c@baton.test')).status).toBe(429);
    // Another client behind the same proxy is not held up.
    expect((await from('203.0.113.2', 'c@baton.test')).status).toBe(401);
    const password = randomBytes(18).toString('base64url');
    await platform.api('POST', '/api/v1/users', { email: 'p@baton.test', name: 'P', password, role: 'viewer' });
    const ok = await from('203.0.113.3', 'p@baton.test', password);
    expect(ok.status).toBe(200);
    const cookie = /baton_session=[^;]+/.exec(ok.headers.get('set-cookie')!)![0];
    const sessions = await platform.request('GET', '/api/v1/auth/sessions', undefined, { cookie });
    expect(sessions.body.items[0].ip).toBe('203.0.113.3');
  });
});

describe.each(kinds)('the first platform admin user (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform | null = null;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  const loginStatus = async (p: Platform, email: string, password: string) =>
    (await p.request('POST', '/api/v1/auth/login', { email, password })).status;

  it('is admin@localhost with a generated password, shown once and saved beside the key', async () => {
    platform = await startPlatform({ databaseUrl: db.url });
    const shown = /Admin login \(password shown once\): admin@localhost \/ (\S+)/.exec(platform.output());
    expect(shown).not.toBeNull();
    const saved = JSON.parse(readFileSync(join(platform.dataDir, 'client.json'), 'utf8'));
    expect(saved).toMatchObject({ token: platform.token, admin: { email: 'admin@localhost', password: shown![1] } });
    expect(await loginStatus(platform, 'admin@localhost', shown![1]!)).toBe(200);

    await platform.restart();
    expect(platform.output()).not.toContain('Admin login');
    expect(JSON.parse(readFileSync(join(platform.dataDir, 'client.json'), 'utf8')).admin.password).toBe(shown![1]);
    expect(await loginStatus(platform, 'admin@localhost', shown![1]!)).toBe(200);
  });

  it.runIf(kind === 'mariadb')(
    'is created in production mode only from BATON_ADMIN_EMAIL and BATON_ADMIN_PASSWORD',
    async () => {
      await platform?.stop();
      const other = await createTestDatabase(kind);
      const prod = {
        BATON_MODE: 'production',
        BATON_GRPC_ALLOW_PLAINTEXT: 'true',
        BATON_TRIGGER_SECRETS_KEY: randomBytes(32).toString('base64url'),
        BATON_SECRETS_KEY: `k1:${randomBytes(32).toString('base64url')}`,
        BATON_AUDIT_KEY: `a1:${randomBytes(32).toString('base64url')}`,
      };
      try {
        platform = await startPlatform({ databaseUrl: other.url, env: prod });
        expect(platform.output()).not.toContain('Admin login');
        expect(await loginStatus(platform, 'admin@localhost', 'anything-at-all')).toBe(401);
        await platform.stop();
        const password = randomBytes(18).toString('base64url');
        platform = await startPlatform({
          databaseUrl: other.url,
          env: { ...prod, BATON_ADMIN_EMAIL: 'ops@baton.test', BATON_ADMIN_PASSWORD: password },
        });
        const r = await platform.request('POST', '/api/v1/auth/login', { email: 'ops@baton.test', password });
        expect(r.status).toBe(200);
        expect(r.headers.get('set-cookie')).toMatch(/; Secure/);
      } finally {
        await platform?.stop();
        platform = null;
        await other.drop();
      }
    },
  );
});
