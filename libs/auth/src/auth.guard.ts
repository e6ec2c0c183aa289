import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { Reflector } from '@nestjs/core';
import { IsNull } from 'typeorm';
import { ApiKeyEntity, Database } from '@baton/persistence';
import { ProblemException } from '@baton/http';
import { abilityFor, isRole, type Action, type Subject } from './abilities.js';
import { IS_PUBLIC, type Principal, REQUIRES } from './principal.js';
import { hashToken } from './tokens.js';

/** Global guard: bearer API key -> principal -> CASL check of the route's permission. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw ProblemException.unauthorized('Authorization: Bearer <api key> is required');
    // across tenants: the key says which tenant the caller is of
    const key = await this.db.manager.findOne(ApiKeyEntity, {
      where: { hash: hashToken(match[1]!), revokedAt: IsNull() },
    });
    if (!key || !isRole(key.role)) throw ProblemException.unauthorized('the API key is unknown or revoked');
    req.principal = { tenantId: key.tenantId, keyId: key.id, name: key.name, role: key.role };
    const need = this.reflector.getAllAndOverride<{ action: Action; subject: Subject } | undefined>(REQUIRES, targets);
    if (need && !abilityFor(key.role).can(need.action, need.subject)) {
      // A denied action is a security event: it goes to the audit log too.
      const r = req as unknown as { method: string; originalUrl: string };
      await this.db
        .tx((m) =>
          enqueueAudit(m, {
            tenantId: key.tenantId,
            action: `denied ${r.method} ${need.action} ${need.subject}`,
            actor: `${key.role}:${key.name} (${key.id})`,
            target: r.originalUrl.split('?')[0]!.slice(0, 300),
            status: 403,
            detail: {},
            occurredAt: Date.now(),
          }),
        )
        .catch(() => undefined);
      this.relay.kick();
      throw ProblemException.forbidden(`role ${key.role} may not ${need.action} ${need.subject}`);
    }
    return true;
  }
}
