import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { TenantScope } from '@baton/persistence';
import type { Action, Role, Subject } from './abilities.js';

/** Who is calling: resolved from the bearer token, never from the body. */
export interface Principal extends TenantScope {
  readonly tenantId: string;
  readonly keyId: string;
  readonly name: string;
  readonly role: Role;
}

export const IS_PUBLIC = 'baton:public';
export const REQUIRES = 'baton:requires';

/** Marks a route that needs no credentials (health, webhooks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The permission a route needs, checked by the guard against the caller's role. */
export const Requires = (action: Action, subject: Subject) => SetMetadata(REQUIRES, { action, subject });

/** The calling principal; doubles as the tenant scope for repositories. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<{ principal?: Principal }>();
  if (!req.principal) throw new Error('route has no principal: is it @Public()?');
  return req.principal;
});
