import { describe, expect, it } from 'vitest';
import { ROLES, type Role, mayGrant } from './abilities.js';
import { generatePassword, hashPassword, verifyPassword } from './passwords.js';
import { AttemptLimiter, refill, waitForToken } from './rate-limit.js';
import { csrfMatches, csrfTokenFor, memberRole, readCookie, sessionEnded } from './sessions.js';
import { issueToken } from './tokens.js';

describe('mayGrant: nobody creates, changes or revokes above their own rank', () => {
  it.each<[Role, Role, boolean]>([
    ['platform_admin', 'platform_admin', true],
    ['platform_admin', 'tenant_admin', true],
    ['tenant_admin', 'platform_admin', false],
    ['tenant_admin', 'tenant_admin', true],
    ['tenant_admin', 'developer', true],
    ['tenant_admin', 'auditor', true],
    ['developer', 'tenant_admin', false],
    ['developer', 'operator', true],
    ['operator', 'developer', true],
    ['operator', 'viewer', true],
    ['viewer', 'operator', false],
    ['viewer', 'auditor', true],
    ['auditor', 'viewer', true],
    ['auditor', 'developer', false],
  ])('%s -> %s: %s', (actor, target, allowed) => {
    expect(mayGrant(actor, target)).toBe(allowed);
  });

  it('lets every role grant its own', () => {
    for (const r of ROLES) expect(mayGrant(r, r)).toBe(true);
  });
});

describe('memberRole', () => {
  it('makes a platform admin act as one in any tenant it belongs to', () => {
    expect(memberRole({ platformAdmin: true }, 'viewer')).toBe('platform_admin');
    expect(memberRole({ platformAdmin: false }, 'viewer')).toBe('viewer');
  });
});

describe('login rate limit (token bucket)', () => {
  const W = 60_000;
  it.each<[string, { tokens: number; at: number } | undefined, number, number]>([
    ['a new bucket is full', undefined, 1_000, 5],
    ['half the window refills half the capacity', { tokens: 0, at: 0 }, W / 2, 2.5],
    ['never above capacity', { tokens: 4, at: 0 }, 10 * W, 5],
    ['no time, no tokens', { tokens: 0.5, at: 5 }, 5, 0.5],
  ])('%s', (_name, bucket, now, tokens) => {
    expect(refill(bucket, 5, W, now).tokens).toBeCloseTo(tokens);
  });

  it.each<[number, number]>([
    [1, 0],
    [0, W / 5],
    [0.5, W / 10],
  ])('with %d tokens the wait is %d ms', (tokens, wait) => {
    expect(waitForToken({ tokens, at: 0 }, 5, W)).toBe(wait);
  });

  it('refuses a key after its failures, until a token refills; successes give theirs back; other keys are untouched', () => {
    const l = new AttemptLimiter(3, W);
    for (let i = 0; i < 5; i++) {
      expect(l.take('a', 1_000)).toBe(0);
      l.refund('a', 1_000); // a success
    }
    for (let i = 0; i < 3; i++) expect(l.take('a', 1_000)).toBe(0); // three failures
    expect(l.take('a', 1_000)).toBe(W / 3);
    expect(l.take('a', 1_000)).toBe(W / 3); // a refused attempt takes nothing
    expect(l.take('b', 1_000)).toBe(0);
    expect(l.take('a', 1_000 + W / 3)).toBe(0);
  });
});

describe('sessions', () => {
  it('derives a CSRF token per session that only matches its own', () => {
    const a = issueToken('ses').token;
    const b = issueToken('ses').token;
    expect(a.startsWith('bat_ses_')).toBe(true);
    expect(csrfTokenFor(a)).not.toBe(csrfTokenFor(b));
    expect(csrfTokenFor(a)).not.toContain(a.slice(8));
    expect(csrfMatches(a, csrfTokenFor(a))).toBe(true);
    expect(csrfMatches(a, csrfTokenFor(b))).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, '')).toBe(false);
  });

  it.each<[string | undefined, string | null]>([
    ['baton_session=abc', 'abc'],
    ['theme=dark; baton_session=a%2Fb; other=1', 'a/b'],
    ['xbaton_session=nope', null],
    ['', null],
    [undefined, null],
  ])('reads the session cookie from %j', (header, value) => {
    expect(readCookie(header, 'baton_session')).toBe(value);
  });

  it.each<[string, { lastSeenAt: number; expiresAt: number; revokedAt: number | null }, number, boolean]>([
    ['live', { lastSeenAt: 1_000, expiresAt: 100_000, revokedAt: null }, 5_000, false],
    ['idle too long', { lastSeenAt: 1_000, expiresAt: 100_000, revokedAt: null }, 11_000, true],
    [
      'past the absolute expiry though busy',
      { lastSeenAt: 99_000, expiresAt: 100_000, revokedAt: null },
      100_000,
      true,
    ],
    ['revoked', { lastSeenAt: 1_000, expiresAt: 100_000, revokedAt: 2_000 }, 3_000, true],
  ])('a session %s', (_name, s, now, ended) => {
    expect(sessionEnded(s, 10_000, now)).toBe(ended);
  });
});

describe('passwords', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const pw = generatePassword();
    expect(pw).toHaveLength(24);
    const h = await hashPassword(pw);
    expect(h.startsWith('$argon2id$')).toBe(true);
    expect(await verifyPassword(h, pw)).toBe(true);
    expect(await verifyPassword(h, pw + 'x')).toBe(false);
    expect(await verifyPassword(null, pw)).toBe(false);
    expect(await verifyPassword('not a hash', pw)).toBe(false);
  });
});
