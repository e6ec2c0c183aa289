import { AbilityBuilder, createMongoAbility, type MongoAbility } from '@casl/ability';

export const ROLES = ['platform_admin', 'tenant_admin', 'developer', 'operator', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** The roles a membership of a tenant can have; platform admins are a flag of the user. */
export const TENANT_ROLES = ['tenant_admin', 'developer', 'operator', 'viewer', 'auditor'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/**
 * How far each role reaches, for grants. Developers and operators stand side
 * by side (jobs and runs beside agents and pools), as do viewers and auditors
 * (who read the audit log besides).
 */
export const ROLE_RANK: Readonly<Record<Role, number>> = {
  platform_admin: 4,
  tenant_admin: 3,
  developer: 2,
  operator: 2,
  auditor: 1,
  viewer: 1,
};

/** Whether `actor` may create, change or revoke a key, user or membership of role `target`: never above its own rank. */
export function mayGrant(actor: Role, target: Role): boolean {
  return ROLE_RANK[target] <= ROLE_RANK[actor];
}

export type Action = 'manage' | 'create' | 'read' | 'update' | 'delete' | 'run' | 'cancel';
export type Subject =
  | 'Job'
  | 'Run'
  | 'Agent'
  | 'AgentToken'
  | 'ApiKey'
  | 'User'
  | 'Tenant'
  | 'Audit'
  | 'Pool'
  | 'Secret'
  /** Alert channels and rules (managed by tenant admins and operators) and the alert history (read by all). */
  | 'Alert'
  | 'all';
export type AppAbility = MongoAbility<[Action, Subject]>;

/** What each role may do inside its tenant; `platform_admin` also crosses tenants. */
export function abilityFor(role: Role): AppAbility {
  const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  switch (role) {
    case 'platform_admin':
      can('manage', 'all');
      break;
    case 'tenant_admin':
      can('manage', 'all');
      // Tenants themselves are managed by platform admins only.
      cannot('manage', 'Tenant');
      can('read', 'Tenant');
      break;
    case 'developer':
      // Secrets: written and deleted, never read back (no route returns a value); the names are listed.
      can('manage', ['Job', 'Secret']);
      can(['read', 'run', 'cancel'], 'Run');
      can('read', ['Agent', 'Pool', 'Alert']);
      break;
    case 'operator':
      can('read', 'Job');
      can(['read', 'run', 'cancel'], 'Run');
      can('read', ['Agent', 'Secret']);
      can('manage', ['AgentToken', 'Pool', 'Alert']);
      break;
    case 'viewer':
      can('read', ['Job', 'Run', 'Agent', 'Pool', 'Secret', 'Alert']);
      break;
    case 'auditor':
      can('read', ['Job', 'Run', 'Agent', 'Audit', 'Pool', 'Secret', 'Alert']);
      break;
    default: {
      const never: never = role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
  return build();
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
