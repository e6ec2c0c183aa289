import { AbilityBuilder, createMongoAbility, type MongoAbility } from '@casl/ability';

export const ROLES = ['platform_admin', 'tenant_admin', 'developer', 'operator', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export type Action = 'manage' | 'create' | 'read' | 'update' | 'delete' | 'run' | 'cancel';
export type Subject = 'Job' | 'Run' | 'Agent' | 'AgentToken' | 'ApiKey' | 'Tenant' | 'Audit' | 'Pool' | 'all';
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
      can('manage', 'Job');
      can(['read', 'run', 'cancel'], 'Run');
      can('read', ['Agent', 'Pool']);
      break;
    case 'operator':
      can('read', 'Job');
      can(['read', 'run', 'cancel'], 'Run');
      can('read', 'Agent');
      can('manage', ['AgentToken', 'Pool']);
      break;
    case 'viewer':
      can('read', ['Job', 'Run', 'Agent', 'Pool']);
      break;
    case 'auditor':
      can('read', ['Job', 'Run', 'Agent', 'Audit', 'Pool']);
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
