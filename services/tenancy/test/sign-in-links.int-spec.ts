import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  type Platform,
  SmtpReceiver,
  type TestDatabase,
  createTestDatabase,
  runCli,
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

const pw = () => `${randomBytes(12).toString('base64url')}-pw`;
const tokenIn = (text: string) => /#token=(bat_(?:inv|rst)_[A-Za-z0-9_-]+)/.exec(text)?.[1] ?? null;
const sessionOf = (r: ApiResponse): Session | null => {
  const cookie = /baton_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  return cookie ? { cookie, csrf: r.body.csrfToken as string, body: r.body } : null;
};
const as = (s: Session) => ({ cookie: `baton_session=${s.cookie}`, 'x-csrf-token': s.csrf });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe.each(kinds)('invitations and passwords (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;
  let smtp: SmtpReceiver;
  let acme: Record<string, string>;
  const rootEmail = 'root@links.test';
  const rootPassword = pw();

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    platform.request(method, path, body, headers);
  const signIn = async (email: string, password: string): Promise<Session> => {
    const r = await call('POST', '/api/v1/auth/login', { email, password });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return sessionOf(r)!;
  };
  const audit = (headers: Record<string, string> = {}) =>
    platform
      .api('GET', '/api/v1/audit?limit=1000', undefined, headers)
      .then((r) => r.body.items as Array<{ action: string; actor: string; target: string; detail: unknown }>);
  const mailTo = (address: string, subject: RegExp, count = 1) =>
    waitFor(`mail ${subject} to ${address}`, async () => {
      const got = smtp.to(address).filter((m) => subject.test(m.subject));
      return got.length >= count ? got[count - 1]! : null;
    });

  beforeAll(async () => {
    smtp = await SmtpReceiver.start();
    db = await createTestDatabase(kind);
    platform = await startPlatform({
      databaseUrl: db.url,
      env: {
        BATON_ADMIN_EMAIL: rootEmail,
        BATON_ADMIN_PASSWORD: rootPassword,
        BATON_SMTP_URL: smtp.url,
        BATON_SMTP_FROM: 'baton@links.test',
        BATON_LOGIN_ATTEMPTS_PER_EMAIL: '3',
        BATON_LOGIN_ATTEMPTS_PER_IP: '40',
        BATON_LOGIN_WINDOW_MS: '3600000',
      },
    });
    const t = await platform.api('POST', '/api/v1/tenants', { name: 'acme' });
    acme = bearer(t.body.adminToken as string);
  });

  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await smtp?.stop();
  });

  it('invites an email with a role: a mailed one-time link that creates the account and signs in', async () => {
    const inv = await platform.api('POST', '/api/v1/invitations', { email: 'new@acme.test', role: 'developer' }, acme);
    expect(inv.status, JSON.stringify(inv.body)).toBe(201);
    expect(inv.body).toMatchObject({ email: 'new@acme.test', role: 'developer', delivery: 'mailed' });
    expect(inv.body.link).toMatch(new RegExp(`^${platform.url}/invitation/#token=bat_inv_`));
    const mail = await mailTo('new@acme.test', /invited to Baton \(tenant acme\)/);
    const token = tokenIn(mail.text)!;
    expect(token).toBe(tokenIn(inv.body.link as string));

    // Listed without its link; another tenant does not see it.
    const listed = await platform.api('GET', '/api/v1/invitations', undefined, acme);
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([inv.body.id]);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(JSON.stringify(listed.body)).not.toMatch(/hash|token/);
    expect((await platform.api('GET', '/api/v1/invitations')).body.items).toEqual([]);
    expect((await platform.api('DELETE', `/api/v1/invitations/${inv.body.id}`)).status).toBe(404);

    // Bad input names the field.
    const forged = await call('POST', '/api/v1/invitations/accept', {
      token: 'bat_inv_forged',
      name: 'N',
      password: pw(),
    });
    expect([forged.status, forged.body.errors[0].path]).toEqual([400, 'token']);
    const noName = await call('POST', '/api/v1/invitations/accept', { token, password: pw() });
    expect([noName.status, noName.body.errors[0].path]).toEqual([400, 'name']);
    const short = await call('POST', '/api/v1/invitations/accept', { token, name: 'New', password: 'short' });
    expect([short.status, short.body.errors[0].path]).toEqual([400, 'password']);

    const password = pw();
    const accepted = await call('POST', '/api/v1/invitations/accept', { token, name: 'New Person', password });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body).toMatchObject({
      user: { email: 'new@acme.test', name: 'New Person' },
      tenant: { name: 'acme' },
      role: 'developer',
    });
    const s = sessionOf(accepted)!;
    expect(accepted.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect((await call('GET', '/api/v1/whoami', undefined, as(s))).body).toMatchObject({ tenant: { name: 'acme' } });
    // Single use; the account logs in with its password from now on.
    const again = await call('POST', '/api/v1/invitations/accept', { token, name: 'X', password: pw() });
    expect([again.status, again.body.errors[0].path]).toEqual([400, 'token']);
    expect((await signIn('new@acme.test', password)).body.tenant.name).toBe('acme');
    expect((await platform.api('GET', '/api/v1/invitations', undefined, acme)).body.items).toEqual([]);

    const log = await waitFor('the invitation audit records', async () => {
      const items = await audit(acme);
      return items.some((a) => a.action === 'invitation.accepted') ? items : null;
    });
    const actions = log.map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['invitation.created', 'invitation.accepted', 'user.created']));
    expect(log.find((a) => a.action === 'auth.login' && JSON.stringify(a.detail).includes('invitation'))).toBeTruthy();
    expect(JSON.stringify(log)).not.toContain(token);
    expect(JSON.stringify(log)).not.toContain(password);
  });

  it('answers within the rules: roles, members, revoked and replaced links', async () => {
    const dev = (await platform.api('POST', '/api/v1/api-keys', { name: 'dev', role: 'developer' }, acme)).body;
    expect(
      (await platform.api('POST', '/api/v1/invitations', { email: 'x@acme.test', role: 'viewer' }, bearer(dev.token)))
        .status,
    ).toBe(403);
    expect((await platform.api('GET', '/api/v1/invitations', undefined, bearer(dev.token))).status).toBe(403);
    const above = await platform.api(
      'POST',
      '/api/v1/invitations',
      { email: 'x@acme.test', role: 'platform_admin' },
      acme,
    );
    expect([above.status, above.body.errors[0].path]).toEqual([400, 'role']);
    const badEmail = await platform.api('POST', '/api/v1/invitations', { email: 'nobody', role: 'viewer' }, acme);
    expect([badEmail.status, badEmail.body.errors[0].path]).toEqual([400, 'email']);
    // A member already.
    expect(
      (await platform.api('POST', '/api/v1/invitations', { email: 'NEW@acme.test', role: 'viewer' }, acme)).status,
    ).toBe(409);

    // Revoked: the link stops working.
    const r = await platform.api('POST', '/api/v1/invitations', { email: 'gone@acme.test', role: 'viewer' }, acme);
    const revoked = await platform.api('DELETE', `/api/v1/invitations/${r.body.id}`, undefined, acme);
    expect([revoked.status, revoked.body.revoked]).toEqual([200, true]);
    const dead = await call('POST', '/api/v1/invitations/accept', {
      token: tokenIn(r.body.link as string),
      name: 'Gone',
      password: pw(),
    });
    expect([dead.status, dead.body.errors[0].path]).toEqual([400, 'token']);

    // Inviting again replaces the pending link.
    const first = await platform.api(
      'POST',
      '/api/v1/invitations',
      { email: 'twice@acme.test', role: 'operator' },
      acme,
    );
    const second = await platform.api(
      'POST',
      '/api/v1/invitations',
      { email: 'twice@acme.test', role: 'viewer' },
      acme,
    );
    const pending = (await platform.api('GET', '/api/v1/invitations', undefined, acme)).body.items;
    expect(pending.map((i: { id: string; role: string }) => [i.id, i.role])).toEqual([[second.body.id, 'viewer']]);
    const old = await call('POST', '/api/v1/invitations/accept', {
      token: tokenIn(first.body.link as string),
      name: 'T',
      password: pw(),
    });
    expect(old.status).toBe(400);
    const ok = await call('POST', '/api/v1/invitations/accept', {
      token: tokenIn(second.body.link as string),
      name: 'T',
      password: pw(),
    });
    expect([ok.status, ok.body.role]).toEqual([200, 'viewer']);
  });

  it('previews an invitation before it is accepted: tenant, role, email and state; 404 for a wrong token', async () => {
    const inv = await platform.api('POST', '/api/v1/invitations', { email: 'peek@acme.test', role: 'operator' }, acme);
    const token = tokenIn(inv.body.link as string)!;
    const seen = await call('POST', '/api/v1/invitations/preview', { token });
    expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    expect(seen.body).toEqual({
      tenant: { id: expect.any(String), name: 'acme' },
      email: 'peek@acme.test',
      role: 'operator',
      invitedBy: inv.body.invitedBy,
      expiresAt: inv.body.expiresAt,
      state: 'pending',
    });
    // A wrong token learns nothing; bad input names the field.
    const wrong = await call('POST', '/api/v1/invitations/preview', { token: `${token}x` });
    expect(wrong.status).toBe(404);
    expect(JSON.stringify(wrong.body)).not.toMatch(/acme|peek|operator/);
    const none = await call('POST', '/api/v1/invitations/preview', {});
    expect([none.status, none.body.errors[0].path]).toEqual([400, 'token']);
    // Previewing does not use the link up; once accepted, the preview says so.
    const ok = await call('POST', '/api/v1/invitations/accept', { token, name: 'Peek', password: pw() });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await call('POST', '/api/v1/invitations/preview', { token })).body.state).toBe('accepted');
    // And a revoked one.
    const r = await platform.api('POST', '/api/v1/invitations', { email: 'peek2@acme.test', role: 'viewer' }, acme);
    await platform.api('DELETE', `/api/v1/invitations/${r.body.id}`, undefined, acme);
    const gone = await call('POST', '/api/v1/invitations/preview', { token: tokenIn(r.body.link as string) });
    expect([gone.status, gone.body.state, gone.body.role]).toEqual([200, 'revoked', 'viewer']);
  });

  it("adds an existing account to the tenant only with that account's own password", async () => {
    const inv = await platform.api('POST', '/api/v1/invitations', { email: rootEmail, role: 'auditor' }, acme);
    const token = tokenIn(inv.body.link as string)!;
    const wrong = await call('POST', '/api/v1/invitations/accept', { token, password: 'not-the-password' });
    expect([wrong.status, wrong.body.errors[0].path]).toEqual([400, 'password']);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const members = async () =>
      (await platform.api('GET', '/api/v1/users', undefined, acme)).body.items.map((u: { email: string }) => u.email);
    expect(await members()).not.toContain(rootEmail);
    const ok = await call('POST', '/api/v1/invitations/accept', { token, name: 'ignored', password: rootPassword });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ user: { email: rootEmail, name: 'Platform admin' }, tenant: { name: 'acme' } });
    expect(await members()).toContain(rootEmail);
  });

  it('changes a password with the current one and ends the other sessions', async () => {
    const email = 'change@links.test';
    const old = pw();
    await platform.api('POST', '/api/v1/users', { email, name: 'C', password: old, role: 'viewer' });
    const s1 = await signIn(email, old);
    const s2 = await signIn(email, old);
    const next = pw();
    const wrong = await call('POST', '/api/v1/auth/password', { current: 'wrong-one', new: next }, as(s1));
    expect([wrong.status, wrong.body.errors[0].path]).toEqual([400, 'current']);
    const short = await call('POST', '/api/v1/auth/password', { current: old, new: 'short' }, as(s1));
    expect([short.status, short.body.errors[0].path]).toEqual([400, 'new']);
    const same = await call('POST', '/api/v1/auth/password', { current: old, new: old }, as(s1));
    expect([same.status, same.body.errors[0].path]).toEqual([400, 'new']);
    expect(
      (
        await call(
          'POST',
          '/api/v1/auth/password',
          { current: old, new: next },
          { cookie: `baton_session=${s1.cookie}` },
        )
      ).status,
    ).toBe(403);
    expect((await platform.api('POST', '/api/v1/auth/password', { current: old, new: next })).status).toBe(400);

    const changed = await call('POST', '/api/v1/auth/password', { current: old, new: next }, as(s1));
    expect([changed.status, changed.body.sessionsEnded]).toEqual([200, 1]);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s2))).status).toBe(401);
    expect((await call('GET', '/api/v1/auth/session', undefined, as(s1))).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/login', { email, password: old })).status).toBe(401);
    await signIn(email, next);
    const log = await waitFor('the password change record', async () => {
      const items = await audit();
      return items.some((a) => a.action === 'auth.password-changed') ? items : null;
    });
    expect(log.some((a) => a.action === 'auth.password-change-failed')).toBe(true);
    expect(JSON.stringify(log)).not.toContain(next);
  });

  it('resets a forgotten password by a mailed one-time link, answering unknown emails alike', async () => {
    const email = 'forgot@links.test';
    const old = pw();
    await platform.api('POST', '/api/v1/users', { email, name: 'F', password: old, role: 'viewer' });
    const before = await signIn(email, old);
    const known = await call('POST', '/api/v1/auth/password-reset', { email: 'FORGOT@links.test' });
    const unknown = await call('POST', '/api/v1/auth/password-reset', { email: 'nobody@links.test' });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    expect((await call('POST', '/api/v1/auth/password-reset', { email: 'x' })).body.errors[0].path).toBe('email');
    const mail = await mailTo(email, /Reset your Baton password/);
    const token = tokenIn(mail.text)!;
    expect(mail.text).toContain(`${platform.url}/reset-password/#token=bat_rst_`);

    const next = pw();
    const forged = await call('POST', '/api/v1/auth/password-reset/confirm', { token: 'bat_rst_x', password: next });
    expect([forged.status, forged.body.errors[0].path]).toEqual([400, 'token']);
    const short = await call('POST', '/api/v1/auth/password-reset/confirm', { token, password: 'short' });
    expect([short.status, short.body.errors[0].path]).toEqual([400, 'password']);
    const done = await call('POST', '/api/v1/auth/password-reset/confirm', { token, password: next });
    expect([done.status, done.body.email]).toEqual([200, email]);
    // Every session of the user ends; the link works once; the new password logs in.
    expect((await call('GET', '/api/v1/auth/session', undefined, as(before))).status).toBe(401);
    expect((await call('POST', '/api/v1/auth/password-reset/confirm', { token, password: pw() })).status).toBe(400);
    expect((await call('POST', '/api/v1/auth/login', { email, password: old })).status).toBe(401);
    await signIn(email, next);
    expect(smtp.to('nobody@links.test')).toEqual([]);

    const log = await waitFor('the reset records', async () => {
      const items = await audit();
      return items.some((a) => a.action === 'auth.password-reset') ? items : null;
    });
    expect(log.some((a) => a.action === 'auth.password-reset-requested')).toBe(true);
    expect(JSON.stringify(log)).not.toContain(token);
    expect(platform.output()).not.toContain(token);
  });

  it('invites, lists and revokes from the CLI, and changes the password of `baton login`', async () => {
    const home = mkdtempSync(join(tmpdir(), 'baton-cli-home-'));
    const keyed = { BATON_SERVER: platform.url, BATON_TOKEN: platform.token };
    const invited = await runCli(['invite', 'cli@links.test', '--role', 'operator'], keyed, home);
    expect(invited.code, invited.stderr).toBe(0);
    expect(invited.stdout.trim()).toMatch(/\/invitation\/#token=bat_inv_/);
    expect(invited.stderr).toMatch(/as operator, valid until .*; mailed to cli@links\.test/);
    const listed = await runCli(['invitations'], keyed, home);
    expect(listed.stdout).toMatch(/cli@links\.test\s+operator/);
    const id = /^(\S+)\s+cli@links\.test/m.exec(listed.stdout)![1]!;
    expect((await runCli(['invitations', 'revoke', id], keyed, home)).stdout).toContain(`invitation ${id}`);
    expect((await runCli(['invitations'], keyed, home)).stdout).not.toContain('cli@links.test');
    const above = await runCli(['invite', 'x@links.test', '--role', 'platform_admin'], keyed, home);
    expect([above.code, above.stderr]).toEqual([1, expect.stringMatching(/role/)]);

    const email = 'cli-pw@links.test';
    const old = pw();
    const next = pw();
    await platform.api('POST', '/api/v1/users', { email, name: 'P', password: old, role: 'viewer' });
    const env = { BATON_SERVER: platform.url, HOME: home };
    expect((await runCli(['password'], env, home, `${old}\n${next}\n`)).stderr).toMatch(/baton login/);
    expect((await runCli(['login', '--email', email], env, home, `${old}\n`)).code).toBe(0);
    const changed = await runCli(['password'], env, home, `${old}\n${next}\n`);
    expect([changed.code, changed.stdout.trim()]).toEqual([0, 'password changed; 0 other session(s) ended']);
    const wrong = await runCli(['password'], env, home, `${old}\n${pw()}\n`);
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringMatching(/current/)]);
    await signIn(email, next);
  });

  it('limits reset requests per email like logins (429 with Retry-After)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await call('POST', '/api/v1/auth/password-reset', { email: 'flood@links.test' })).status);
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
    const r = await call('POST', '/api/v1/auth/password-reset', { email: 'flood@links.test' });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('one-time links without an SMTP server (sqlite)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ databaseUrl: null, env: { BATON_ADMIN_EMAIL: 'root@nomail.test' } });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('logs the link in the embedded default instead of mailing it', async () => {
    const inv = await platform.api('POST', '/api/v1/invitations', { email: 'someone@nomail.test', role: 'viewer' });
    expect([inv.status, inv.body.delivery]).toEqual([201, 'logged']);
    await waitFor('the logged invitation link', async () => platform.output().includes(inv.body.link as string));
    expect((await platform.request('POST', '/api/v1/auth/password-reset', { email: 'root@nomail.test' })).status).toBe(
      202,
    );
    const link = await waitFor('the logged reset link', async () =>
      /password reset link for root@nomail\.test .*(#token=bat_rst_[A-Za-z0-9_-]+)/.exec(platform.output()),
    );
    expect(link[1]).toBeTruthy();
  });
});
