import { describe, expect, it } from 'vitest';
import { abilityFor, type Action, type Role, type Subject } from './abilities.js';
import { hashToken, issueToken } from './tokens.js';

describe('abilityFor', () => {
  it.each<[Role, Action, Subject, boolean]>([
    ['tenant_admin', 'delete', 'Job', true],
    ['tenant_admin', 'create', 'Tenant', false],
    ['platform_admin', 'create', 'Tenant', true],
    ['tenant_admin', 'create', 'AgentToken', true],
    ['developer', 'update', 'Job', true],
    ['developer', 'create', 'AgentToken', false],
    ['operator', 'run', 'Run', true],
    ['operator', 'update', 'Job', false],
    ['operator', 'create', 'AgentToken', true],
    ['viewer', 'read', 'Run', true],
    ['viewer', 'run', 'Run', false],
    ['viewer', 'read', 'AgentToken', false],
    ['auditor', 'read', 'Audit', true],
    ['auditor', 'cancel', 'Run', false],
    ['tenant_admin', 'create', 'User', true],
    ['tenant_admin', 'delete', 'User', true],
    ['platform_admin', 'update', 'User', true],
    ['developer', 'read', 'User', false],
    ['operator', 'create', 'User', false],
    ['auditor', 'read', 'User', false],
    ['tenant_admin', 'update', 'Secret', true],
    ['developer', 'update', 'Secret', true],
    ['developer', 'delete', 'Secret', true],
    ['operator', 'read', 'Secret', true],
    ['operator', 'update', 'Secret', false],
    ['viewer', 'read', 'Secret', true],
    ['viewer', 'delete', 'Secret', false],
    ['auditor', 'read', 'Secret', true],
    ['auditor', 'update', 'Secret', false],
    ['tenant_admin', 'update', 'Alert', true],
    ['operator', 'update', 'Alert', true],
    ['operator', 'delete', 'Alert', true],
    ['developer', 'read', 'Alert', true],
    ['developer', 'update', 'Alert', false],
    ['viewer', 'read', 'Alert', true],
    ['viewer', 'update', 'Alert', false],
    ['auditor', 'read', 'Alert', true],
    ['auditor', 'delete', 'Alert', false],
    ['tenant_admin', 'manage', 'Tenant', false],
    ['platform_admin', 'manage', 'Tenant', true],
  ])('%s %s %s -> %s', (role, action, subject, allowed) => {
    expect(abilityFor(role).can(action, subject)).toBe(allowed);
  });
});

describe('tokens', () => {
  it('issues distinct prefixed tokens whose hash verifies', () => {
    const a = issueToken('key');
    const b = issueToken('agt');
    expect(a.token).toMatch(/^bat_key_[A-Za-z0-9_-]{43}$/);
    expect(b.token.startsWith('bat_agt_')).toBe(true);
    expect(a.hash).toBe(hashToken(a.token));
    expect(a.hash).not.toBe(hashToken(b.token));
    expect(a.token.startsWith(a.prefix)).toBe(true);
  });
});
