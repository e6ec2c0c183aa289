import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OidcTestProvider,
  type OidcTestAccount,
  type Platform,
  type TestDatabase,
  createTestDatabase,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

/** A browser's cookies, enough for one host: by name, with their paths (ports do not separate cookies). */
class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const gone =
        value === '' ||
        attrs.some((a) => /^max-age=0$/i.test(a)) ||
        attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  header(url: string): string {
    const path = new URL(url).pathname;
    return [...this.cookies]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([n, c]) => `${n}=${c.value}`)
      .join('; ');
  }

  get(name: string): string | null {
    return this.cookies.get(name)?.value ?? null;
  }
}

interface Page {
  url: string;
  status: number;
  text: string;
  headers: Headers;
}

/** The first form of a page: where it posts and its fields (the provider's login and consent pages). */
function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form on the page: ${html.slice(0, 500)}`);
  const form = html.slice(html.indexOf(action));
  const fields: Record<string, string> = {};
  for (const input of form.slice(0, form.indexOf('</form>')).matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
  }
  return { action: action.replace(/&amp;/g, '&'), fields };
}

describe.each(kinds)('single sign-on with OpenID Connect (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let provider: OidcTestProvider;
  let issuer: string;
  const rootEmail = 'root@sso.test';
  const rootPassword = `${randomBytes(12).toString('base64url')}-pw`;
  const accounts: Record<string, OidcTestAccount> = {
    alice: { email: 'alice@sso.test', email_verified: true, name: 'Alice SSO', groups: ['everyone', 'baton-devs'] },
    bob: { email: 'bob@sso.test', email_verified: true, name: 'Bob', groups: ['marketing'] },
    mallory: { email: rootEmail, email_verified: false, name: 'Mallory', groups: ['baton-admins'] },
    root: { email: rootEmail, email_verified: true, name: 'Root at the IdP', groups: ['baton-admins'] },
  };
  const callbackUrl = () => `${platform.url}/api/v1/auth/oidc/callback`;

  /** Follows redirects like a browser, up to (and including) Baton's callback, which it does not follow. */
  const browse = async (jar: CookieJar, start: string, form?: Record<string, string>): Promise<Page> => {
    let url = start;
    let body: string | undefined = form ? new URLSearchParams(form).toString() : undefined;
    for (let hop = 0; hop < 20; hop++) {
      const res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        body,
        redirect: 'manual',
        headers: {
          cookie: jar.header(url),
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
      });
      jar.store(res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location && !url.startsWith(callbackUrl())) {
        url = new URL(location, url).href;
        body = undefined;
        continue;
      }
      return { url, status: res.status, text: await res.text(), headers: res.headers };
    }
    throw new Error(`too many redirects from ${start}`);
  };

  /** The whole sign-in as a person does it: Baton → the provider's login and consent forms → Baton's callback. */
  const ssoSignIn = async (login: string, jar = new CookieJar(), returnTo?: string) => {
    const q = returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : '';
    let page = await browse(jar, `${platform.url}/api/v1/auth/oidc/login${q}`);
    for (let step = 0; step < 4 && page.url.startsWith(issuer); step++) {
      const { action, fields } = formOf(page.text);
      if ('login' in fields) fields.login = login;
      if ('password' in fields) fields.password = 'whatever-the-idp-checks';
      page = await browse(jar, new URL(action, page.url).href, fields);
    }
    expect(page.url.startsWith(callbackUrl()), `ended at ${page.url}: ${page.text.slice(0, 300)}`).toBe(true);
    return { page, jar, session: jar.get('baton_session') };
  };
  const asCookie = (session: string) => ({ cookie: `baton_session=${session}` });

  beforeAll(async () => {
    provider = await OidcTestProvider.prepare(accounts);
    issuer = provider.issuer;
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: {
        BATON_ADMIN_EMAIL: rootEmail,
        BATON_ADMIN_PASSWORD: rootPassword,
        BATON_OIDC_ISSUER: issuer,
        BATON_OIDC_CLIENT_ID: provider.clientId,
        BATON_OIDC_CLIENT_SECRET: provider.clientSecret,
        BATON_OIDC_SCOPES: 'openid email profile groups',
        BATON_OIDC_ROLE_CLAIM: 'groups',
        BATON_OIDC_ROLE_MAP: JSON.stringify({
          'baton-admins': 'tenant_admin',
          'baton-devs': 'developer',
          everyone: 'viewer',
        }),
        BATON_OIDC_TENANT: 'acme',
      },
    });
    expect((await platform.api('POST', '/api/v1/tenants', { name: 'acme' })).status).toBe(201);
    // The provider is started after Baton: it needs Baton's callback URL, and Baton discovers it on first use.
    await provider.start(callbackUrl());
  });

  afterAll(async () => {
    await platform?.stop();
    await provider?.stop();
    await db?.drop();
  });

  it('tells the sign-in page that SSO is on', async () => {
    const r = await platform.request('GET', '/api/v1/auth/config');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ password: true, passwordReset: true, sso: { loginUrl: '/api/v1/auth/oidc/login' } });
  });

  it('sends the browser to the provider with state, nonce and a PKCE challenge, keeping the state in a cookie', async () => {
    const res = await fetch(`${platform.url}/api/v1/auth/oidc/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(`${to.origin}`).toBe(issuer);
    const q = to.searchParams;
    expect(q.get('client_id')).toBe('baton');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('redirect_uri')).toBe(callbackUrl());
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toBeTruthy();
    expect(q.get('scope')).toBe('openid email profile groups');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('baton_oidc='))!;
    expect(cookie).toContain(`baton_oidc=${q.get('state')}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Path=\/api\/v1\/auth\/oidc/);
  });

  it('signs in a new user with the mapped role, lands where it started, and audits it', async () => {
    const { page, session } = await ssoSignIn('alice', new CookieJar(), '/jobs/etl');
    expect(page.status, page.text.slice(0, 300)).toBe(302);
    expect(page.headers.get('location')).toBe('/jobs/etl');
    expect(session).toMatch(/^bat_ses_/);
    const me = await platform.request('GET', '/api/v1/auth/session', undefined, asCookie(session!));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      credential: 'session',
      user: { email: 'alice@sso.test', name: 'Alice SSO', platformAdmin: false },
      tenant: { name: 'acme' },
      role: 'developer',
    });
    // The session is the same as a password login's: CSRF token and all.
    const job = { name: 'sso', tasks: [{ key: 'a', type: 'noop' }] };
    const put = await platform.request('PUT', '/api/v1/jobs/sso', job, {
      ...asCookie(session!),
      'x-csrf-token': me.body.csrfToken as string,
    });
    expect(put.status).toBe(201);
    // No password: the account signs in by SSO only.
    expect(
      (await platform.request('POST', '/api/v1/auth/login', { email: 'alice@sso.test', password: 'anything-at-all' }))
        .status,
    ).toBe(401);
    const log = await waitFor('the SSO audit records', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=1000', undefined, { 'x-baton-tenant': 'acme' }))
        .body.items as Array<{ action: string; actor: string; detail: Record<string, unknown> }>;
      return items.some((a) => a.action === 'auth.login') ? items : null;
    });
    expect(log.find((a) => a.action === 'auth.login')!.detail).toMatchObject({ method: 'oidc' });
    expect(log.find((a) => a.action === 'user.created')!.actor).toBe('oidc:alice@sso.test');
    expect(log.find((a) => a.action === 'user.added')!.detail).toMatchObject({ role: 'developer', by: 'sso' });
  });

  it("follows the provider's groups on every sign-in, as the same user", async () => {
    const first = await platform.request(
      'GET',
      '/api/v1/auth/session',
      undefined,
      asCookie((await ssoSignIn('alice')).session!),
    );
    accounts.alice!.groups = ['baton-admins'];
    const { session } = await ssoSignIn('alice');
    const me = await platform.request('GET', '/api/v1/auth/session', undefined, asCookie(session!));
    expect(me.body).toMatchObject({ role: 'tenant_admin', user: { id: first.body.user.id } });
    const members = (await platform.api('GET', '/api/v1/users', undefined, { 'x-baton-tenant': 'acme' })).body.items;
    expect(members.filter((u: { email: string }) => u.email === 'alice@sso.test')).toHaveLength(1);
  });

  it('refuses an account whose groups map to no role, with a page that says so', async () => {
    const { page, session } = await ssoSignIn('bob');
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('no Baton role');
    expect(session).toBeNull();
    const members = (await platform.api('GET', '/api/v1/users', undefined, { 'x-baton-tenant': 'acme' })).body.items;
    expect(members.map((u: { email: string }) => u.email)).not.toContain('bob@sso.test');
    await waitFor('the refusal record', async () => {
      const items = (await platform.api('GET', '/api/v1/audit?limit=1000', undefined, { 'x-baton-tenant': 'acme' }))
        .body.items as Array<{ action: string; actor: string }>;
      return items.some((a) => a.action === 'auth.sso-refused' && a.actor === 'oidc:bob@sso.test');
    });
  });

  it('links an existing account by its email only when the provider verified it', async () => {
    const unverified = await ssoSignIn('mallory');
    expect(unverified.page.status).toBe(403);
    expect(unverified.page.text).toContain('has not verified');
    expect(unverified.session).toBeNull();
    const { session } = await ssoSignIn('root');
    const me = await platform.request('GET', '/api/v1/auth/session', undefined, asCookie(session!));
    expect(me.body).toMatchObject({ user: { email: rootEmail, platformAdmin: true }, tenant: { name: 'acme' } });
    // The password still works too.
    expect(
      (await platform.request('POST', '/api/v1/auth/login', { email: rootEmail, password: rootPassword })).status,
    ).toBe(200);
  });

  it('refuses a callback that did not start in this browser, and a replayed one', async () => {
    const forged = await fetch(`${callbackUrl()}?code=abc&state=xyz`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('did not start in this browser');
    // The provider's redirect replayed after it was used once.
    const jar = new CookieJar();
    const { page } = await ssoSignIn('alice', jar);
    expect(page.status).toBe(302);
    const state = new URL(page.url).searchParams.get('state')!;
    const replay = await fetch(page.url, { redirect: 'manual', headers: { cookie: `baton_oidc=${state}` } });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('used already');
    // The provider saying no is told as such.
    const denied = await fetch(`${callbackUrl()}?error=access_denied&error_description=nope&state=${state}`, {
      redirect: 'manual',
    });
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('refused the sign-in: nope');
  });
});

describe('without SSO configured', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('offers passwords only, and the SSO routes are not found', async () => {
    expect((await platform.request('GET', '/api/v1/auth/config')).body.sso).toBeNull();
    expect((await platform.request('GET', '/api/v1/auth/oidc/login')).status).toBe(404);
  });
});
