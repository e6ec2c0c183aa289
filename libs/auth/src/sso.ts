import { ROLE_RANK, TENANT_ROLES, type TenantRole } from './abilities.js';

/**
 * The role an SSO sign-in gets: each value of the role claim (a string, or
 * an array of strings as `groups` usually is) looked up in the map; the
 * highest-ranked match wins; null when none maps (the sign-in is refused).
 */
export function mappedRole(claim: unknown, map: Readonly<Record<string, string>>): TenantRole | null {
  const values = Array.isArray(claim) ? claim : [claim];
  let best: TenantRole | null = null;
  for (const v of values) {
    if (typeof v !== 'string' || !Object.hasOwn(map, v)) continue;
    const role = map[v];
    if (!(TENANT_ROLES as readonly (string | undefined)[]).includes(role)) continue;
    const r = role as TenantRole;
    if (best === null || ROLE_RANK[r] > ROLE_RANK[best]) best = r;
  }
  return best;
}

/** A path on this site to return to after signing in: only `/…` (not `//host`), else `/`. */
export function safeReturnPath(path: unknown): string {
  if (typeof path !== 'string' || path.length > 500) return '/';
  return /^\/(?![/\\])[^\s\\]*$/.test(path) ? path : '/';
}
