import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { TenantScope } from '@baton/persistence';
import type { AuditRecord } from '@baton/bus';
import { ProblemException } from '@baton/http';
import { type Action, type Role, type Subject, mayGrant } from './abilities.js';

/** How a caller proved who it is: a bearer API key, or the cookie of a login session. */
export type CredentialKind = 'api_key' | 'session';

/** Who is calling: resolved from the credential (the tenant too), never from the body. */
export interface Principal extends TenantScope {
  readonly tenantId: string;
  readonly credential: CredentialKind;
  /** The API key's id, or the session's. */
  readonly credentialId: string;
  /** The user a session belongs to; null for an API key. */
  readonly userId: string | null;
  /** The key's name, or the user's email. */
  readonly name: string;
  readonly role: Role;
  /** A platform admin acting inside another tenant (`X-Baton-Tenant`): the tenant they act from. */
  readonly actingFrom?: string;
}

/** The header a platform admin names another tenant in (by id or name) to act inside it. */
export const TENANT_HEADER = 'X-Baton-Tenant';

/** The principal as audit records name it: a key by its id, a user by theirs (the same across sessions). */
export function actorOf(p: Principal): string {
  const who = p.credential === 'session' ? `user ${p.userId}` : p.credentialId;
  const from = p.actingFrom ? ` acting from tenant ${p.actingFrom}` : '';
  return `${p.role}:${p.name} (${who})${from}`.slice(0, 200);
}

/** The audit record of a successful action by `p` (in its tenant unless another is given). */
export function auditRecord(
  p: Principal,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
  tenantId = p.tenantId,
): AuditRecord {
  return {
    tenantId,
    action,
    actor: actorOf(p),
    target: target.slice(0, 300),
    status: 200,
    detail,
    occurredAt: Date.now(),
  };
}

export const IS_PUBLIC = 'baton:public';
export const REQUIRES = 'baton:requires';
export const AUDITS_ITSELF = 'baton:audits-itself';

/** Marks a route that needs no credentials (health, webhooks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** A route that writes its own audit record in the transaction of its change (the generic one would repeat it). */
export const AuditsItself = () => SetMetadata(AUDITS_ITSELF, true);

/** The permission a route needs, checked by the guard against the caller's role. */
export const Requires = (action: Action, subject: Subject) => SetMetadata(REQUIRES, { action, subject });

/** The calling principal; doubles as the tenant scope for repositories. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<{ principal?: Principal }>();
  if (!req.principal) throw new Error('route has no principal: is it @Public()?');
  return req.principal;
});

/** 403 unless `p` may `verb` something of role `target` (never above its own rank); `field` names the input. */
export function assertMayGrant(p: Principal, target: Role, verb: string, field?: string): void {
  if (mayGrant(p.role, target)) return;
  const detail = `a ${p.role} may not ${verb} a role above its own (${target})`;
  throw new ProblemException(
    403,
    'forbidden',
    field ? `${field}: ${detail}` : detail,
    field ? [{ path: field, message: detail }] : [],
  );
}
