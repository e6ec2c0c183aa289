import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { Reflector } from '@nestjs/core';
import { IsNull } from 'typeorm';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ApiKeyEntity, Database, MembershipEntity, SessionEntity, UserEntity, scoped } from '@baton/persistence';
import { ProblemException } from '@baton/http';
import { abilityFor, isRole, type Action, type Subject } from './abilities.js';
import { IS_PUBLIC, type Principal, REQUIRES, actorOf } from './principal.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, memberRole, readCookie, sessionEnded } from './sessions.js';
import { hashToken } from './tokens.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A session's last-seen time is written at most this often (or a quarter of the idle time): not a write per call. */
const TOUCH_EVERY_MS = 60_000;

interface GuardedRequest {
  method: string;
  originalUrl: string;
  headers: Record<string, string | undefined>;
  principal?: Principal;
}

/**
 * Global guard: a bearer API key or a session cookie -> principal -> CASL
 * check of the route's permission. A cookie-authenticated call that changes
 * something must also carry the session's CSRF token.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<GuardedRequest>();
    const p = await this.authenticate(req);
    req.principal = p;
    const need = this.reflector.getAllAndOverride<{ action: Action; subject: Subject } | undefined>(REQUIRES, targets);
    if (need && !abilityFor(p.role).can(need.action, need.subject)) {
      // A denied action is a security event: it goes to the audit log too.
      await this.db
        .tx((m) =>
          enqueueAudit(m, {
            tenantId: p.tenantId,
            action: `denied ${req.method} ${need.action} ${need.subject}`,
            actor: actorOf(p),
            target: req.originalUrl.split('?')[0]!.slice(0, 300),
            status: 403,
            detail: {},
            occurredAt: Date.now(),
          }),
        )
        .catch(() => undefined);
      this.relay.kick();
      throw ProblemException.forbidden(`role ${p.role} may not ${need.action} ${need.subject}`);
    }
    return true;
  }

  private async authenticate(req: GuardedRequest): Promise<Principal> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw ProblemException.unauthorized('Authorization: Bearer <api key> is required');
      // across tenants: the key says which tenant the caller is of
      const key = await this.db.manager.findOne(ApiKeyEntity, {
        where: { hash: hashToken(match[1]!), revokedAt: IsNull() },
      });
      if (!key || !isRole(key.role)) throw ProblemException.unauthorized('the API key is unknown or revoked');
      return {
        tenantId: key.tenantId,
        credential: 'api_key',
        credentialId: key.id,
        userId: null,
        name: key.name,
        role: key.role,
      };
    }
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token === null) {
      throw ProblemException.unauthorized(`log in (POST /api/v1/auth/login) or send Authorization: Bearer <api key>`);
    }
    const p = await this.sessionPrincipal(token);
    if (!p) throw ProblemException.unauthorized('the session has ended or was revoked: log in again');
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(token, req.headers[CSRF_HEADER.toLowerCase()])) {
      throw ProblemException.forbidden(
        `${CSRF_HEADER}: a call with a session cookie must carry the session's CSRF token`,
      );
    }
    return p;
  }

  /** The principal of a live session: its user's role in the session's tenant, read on every call. */
  private async sessionPrincipal(token: string): Promise<Principal | null> {
    const now = Date.now();
    // across tenants: a session's hash is unique over all tenants, and the session says which tenant it acts in
    const s = await this.db.manager.findOne(SessionEntity, { where: { hash: hashToken(token) } });
    if (!s || sessionEnded(s, this.config.auth.sessionIdleMs, now)) return null;
    const [user, membership] = await Promise.all([
      this.db.manager.findOne(UserEntity, { where: { id: s.userId } }),
      scoped(this.db.manager, s).findOne(MembershipEntity, { where: { userId: s.userId } }),
    ]);
    // A removed membership ends the sessions in that tenant at once.
    if (!user || !membership || !isRole(membership.role)) return null;
    if (now - s.lastSeenAt >= Math.min(TOUCH_EVERY_MS, this.config.auth.sessionIdleMs / 4)) {
      // across tenants: the session found by its hash above
      await this.db.tx((m) => m.update(SessionEntity, { id: s.id }, { lastSeenAt: now }));
    }
    return {
      tenantId: s.tenantId,
      credential: 'session',
      credentialId: s.id,
      userId: user.id,
      name: user.email,
      role: memberRole(user, membership.role),
    };
  }
}
