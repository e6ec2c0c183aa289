import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from './abilities.js';

/** The cookie a browser (or `baton login`) sends the session token in. */
export const SESSION_COOKIE = 'baton_session';
/** The header a cookie-authenticated mutating call must carry the session's CSRF token in. */
export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * The CSRF token of a session, derived from its token: a page of another site
 * cannot read the cookie, so it cannot compute the token; and the server needs
 * to store nothing besides the session's hash.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`csrf:${sessionToken}`, 'utf8').digest('base64url');
}

export function csrfMatches(sessionToken: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const want = Buffer.from(csrfTokenFor(sessionToken));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** One cookie's value from a `Cookie` header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return null;
}

/** Whether a session is over at `now`: revoked, idle for `idleMs`, or past its absolute expiry. */
export function sessionEnded(
  s: { readonly lastSeenAt: number; readonly expiresAt: number; readonly revokedAt: number | null },
  idleMs: number,
  now: number,
): boolean {
  return s.revokedAt !== null || now >= s.expiresAt || now >= s.lastSeenAt + idleMs;
}

/** A member's role in a tenant: a platform admin acts as one wherever they are a member. */
export function memberRole(user: { readonly platformAdmin: boolean }, membershipRole: Role): Role {
  return user.platformAdmin ? 'platform_admin' : membershipRole;
}
