import { routePermissions } from '../api/openapi.gen';
import type { Role } from '../api/client';

/** A route as `METHOD /path`, exactly as the OpenAPI document names it. */
export type Route = keyof typeof routePermissions;
type Permission = (typeof routePermissions)[Route];
type Subject = Permission extends `${string} ${infer S}` ? S : never;
type Action = 'manage' | 'create' | 'read' | 'update' | 'delete' | 'run' | 'cancel';

/**
 * What each role may do, as libs/auth/src/abilities.ts grants it (a test keeps
 * the two equal). The portal only uses this to hide controls a role cannot use;
 * the API decides every call. `all` stands for every action.
 */
const GRANTS: Record<Role, { subjects: 'all' | Partial<Record<Subject, readonly Action[] | 'all'>> }> = {
  platform_admin: { subjects: 'all' },
  tenant_admin: {
    subjects: {
      Job: 'all',
      Run: 'all',
      Agent: 'all',
      AgentToken: 'all',
      ApiKey: 'all',
      User: 'all',
      Audit: 'all',
      Pool: 'all',
      Secret: 'all',
      Alert: 'all',
      Tenant: ['read'],
    },
  },
  developer: {
    subjects: {
      Job: 'all',
      Run: ['read', 'run', 'cancel'],
      Agent: ['read'],
      Pool: ['read'],
      Secret: 'all',
      Alert: ['read'],
    },
  },
  operator: {
    subjects: {
      Job: ['read'],
      Run: ['read', 'run', 'cancel'],
      Agent: ['read'],
      AgentToken: 'all',
      Pool: 'all',
      Secret: ['read'],
      Alert: 'all',
    },
  },
  viewer: {
    subjects: { Job: ['read'], Run: ['read'], Agent: ['read'], Pool: ['read'], Secret: ['read'], Alert: ['read'] },
  },
  auditor: {
    subjects: {
      Job: ['read'],
      Run: ['read'],
      Agent: ['read'],
      Audit: ['read'],
      Pool: ['read'],
      Secret: ['read'],
      Alert: ['read'],
    },
  },
};

/**
 * Every role, highest rank first, with the rank libs/auth grants by (a test
 * keeps both equal): nobody grants, changes or revokes above their own rank.
 */
export const ROLE_RANK: Readonly<Record<Role, number>> = {
  platform_admin: 4,
  tenant_admin: 3,
  developer: 2,
  operator: 2,
  viewer: 1,
  auditor: 1,
};

export const ROLES = Object.keys(ROLE_RANK) as Role[];

/** The roles of a membership (platform admin is a flag of the user, not a membership's role). */
export const MEMBER_ROLES = ROLES.filter((r) => r !== 'platform_admin');

/** The roles `actor` may hand out (or change from or to) among `roles`; the API decides. */
export function grantable(actor: Role | null, roles: readonly Role[] = ROLES): Role[] {
  return actor === null ? [] : roles.filter((r) => ROLE_RANK[r] <= ROLE_RANK[actor]);
}

export function roleCan(role: Role, permission: string): boolean {
  const [action, subject] = permission.split(' ') as [Action, Subject];
  const { subjects } = GRANTS[role];
  if (subjects === 'all') return true;
  const granted = subjects[subject];
  if (!granted) return false;
  if (granted === 'all') return true;
  return action !== 'manage' && granted.includes(action);
}

/** Whether the signed-in role may call a route (from the route's `x-baton-permission`). */
export function roleMayCall(role: Role | null, route: Route): boolean {
  return role !== null && roleCan(role, routePermissions[route]);
}
