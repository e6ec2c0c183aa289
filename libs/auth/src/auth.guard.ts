import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import {
  ApiKeyEntity,
  Database,
  MembershipEntity,
  SessionEntity,
  TenantEntity,
  type TenantState,
  UserEntity,
  findTenant,
  scoped,
} from '@baton/persistence';
import { ProblemException } from '@baton/http';
import { abilityFor, isRole, type Action, type Subject } from './abilities.js';
import { IS_PUBLIC, type Principal, REQUIRES, TENANT_HEADER, actorOf } from './principal.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, memberRole, readCookie, sessionEnded } from './sessions.js';
import { hashToken } from './tokens.js';
import { AttemptLimiter } from './rate-limit.js';
import { DeniedCallsRecorder } from './denied-calls.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A session's last-seen time is written at most this often (or a quarter of the idle time): not a write per call. */
const TOUCH_EVERY_MS = 60_000;

interface KeyRow {
  id: string;
  tenantId: string;
  name: string;
  role: string;
  expiresAt: number | string | null;
  lastUsedAt: number | string | null;
  tenantName: string;
  tenantState: TenantState;
  tenantReason: string | null;
}

/**
 * A suspended or deleted tenant's callers are refused with the reason; a
 * platform admin is not (they live in the platform's own tenant, which cannot
 * be suspended, and act inside others explicitly).
 */
export function refuseInactive(
  role: string,
  tenant: { name: string; state: TenantState; stateReason: string | null },
): void {
  if (tenant.state === 'active' || role === 'platform_admin') return;
  const why = tenant.stateReason ? `: ${tenant.stateReason}` : '';
  throw ProblemException.forbidden(`tenant ${tenant.name} is ${tenant.state}${why}`);
}

/** What a refused caller presented, named by a prefix of its hash (never the secret): undefined for nothing. */
function presentedCredential(req: GuardedRequest): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? `api key ${hashToken(match[1]!).slice(0, 12)}` : undefined;
  }
  const token = readCookie(req.headers.cookie, SESSION_COOKIE);
  return token === null ? undefined : `session ${hashToken(token).slice(0, 12)}`;
}

interface GuardedRequest {
  method: string;
  originalUrl: string;
  route?: { path?: string };
  ip?: string;
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
    private readonly denied: DeniedCallsRecorder,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<GuardedRequest>();
    const p = await this.authenticate(req);
    req.principal = p;
    this.limit(p);
    const need = this.reflector.getAllAndOverride<{ action: Action; subject: Subject } | undefined>(REQUIRES, targets);
    if (need && !abilityFor(p.role).can(need.action, need.subject)) {
      throw await this.refuse(
        req,
        ProblemException.forbidden(`role ${p.role} may not ${need.action} ${need.subject}`),
        p,
      );
    }
    return true;
  }

  /** Calls per API key or session a minute, in this process: 429 with Retry-After past it. */
  private limit(p: Principal): void {
    const perMinute = this.config.auth.callsPerMinute;
    if (perMinute === 0) return;
    const wait = (this.calls ??= new AttemptLimiter(perMinute, 60_000)).take(p.credentialId);
    if (wait > 0) {
      const what = p.credential === 'session' ? 'session' : 'API key';
      throw ProblemException.tooManyRequests(`rate limit: ${perMinute} calls a minute per ${what}`, wait);
    }
  }

  private calls: AttemptLimiter | null = null;

  private async authenticate(req: GuardedRequest): Promise<Principal> {
    let p: Principal;
    try {
      p = await this.credential(req);
    } catch (err) {
      throw await this.refuse(req, err, null);
    }
    if (p.credential === 'session' && !SAFE_METHODS.has(req.method)) {
      const token = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (token === null || !csrfMatches(token, req.headers[CSRF_HEADER.toLowerCase()])) {
        const err = ProblemException.forbidden(
          `${CSRF_HEADER}: a call with a session cookie must carry the session's CSRF token`,
        );
        throw await this.refuse(req, err, p);
      }
    }
    const acting = req.headers[TENANT_HEADER.toLowerCase()];
    if (acting === undefined || acting === '') return p;
    try {
      return await this.actInside(p, acting);
    } catch (err) {
      throw await this.refuse(req, err, p);
    }
  }

  /**
   * A 401 or 403 is a security event: it is counted for the audit log (one record per caller and minute, see
   * DeniedCallsRecorder). Returns the error for the caller to throw.
   */
  private async refuse(req: GuardedRequest, err: unknown, p: Principal | null): Promise<unknown> {
    const status = err instanceof ProblemException ? err.status : 0;
    if (status !== 401 && status !== 403) return err;
    const route = `${req.method} ${req.route?.path ?? req.originalUrl.split('?')[0]}`;
    await this.denied
      .record({
        status,
        route,
        ip: req.ip ?? null,
        ...(p
          ? { who: { tenantId: p.tenantId, caller: `${p.credential}:${p.credentialId}`, actor: actorOf(p) } }
          : { presented: presentedCredential(req) }),
      })
      .catch(() => undefined);
    return err;
  }

  /** The caller's own principal, from its API key or session, refused if its tenant is not active. */
  private async credential(req: GuardedRequest): Promise<Principal> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw ProblemException.unauthorized('Authorization: Bearer <api key> is required');
      return this.keyPrincipal(match[1]!);
    }
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token === null) {
      throw ProblemException.unauthorized(`log in (POST /api/v1/auth/login) or send Authorization: Bearer <api key>`);
    }
    const p = await this.sessionPrincipal(token);
    if (!p) throw ProblemException.unauthorized('the session has ended or was revoked: log in again');
    return p;
  }

  /** An API key's principal: the key and its tenant's state are read in one statement. */
  private async keyPrincipal(token: string): Promise<Principal> {
    const now = Date.now();
    // across tenants: the key says which tenant the caller is of
    const row = await this.db.manager
      .createQueryBuilder(ApiKeyEntity, 'k')
      .innerJoin(TenantEntity, 't', 't.id = k.tenantId')
      .select(['k.id AS id', 'k.tenantId AS tenantId', 'k.name AS name', 'k.role AS role'])
      .addSelect(['k.expiresAt AS expiresAt', 'k.lastUsedAt AS lastUsedAt'])
      .addSelect(['t.name AS tenantName', 't.state AS tenantState', 't.stateReason AS tenantReason'])
      .where('k.hash = :hash AND k.revokedAt IS NULL', { hash: hashToken(token) })
      .getRawOne<KeyRow>();
    if (!row || !isRole(row.role)) throw ProblemException.unauthorized('the API key is unknown or revoked');
    const expiresAt = row.expiresAt === null ? null : Number(row.expiresAt);
    if (expiresAt !== null && expiresAt <= now) {
      throw ProblemException.unauthorized(`the API key expired at ${new Date(expiresAt).toISOString()}`);
    }
    refuseInactive(row.role, { name: row.tenantName, state: row.tenantState, stateReason: row.tenantReason });
    const lastUsed = row.lastUsedAt === null ? 0 : Number(row.lastUsedAt);
    if (now - lastUsed >= TOUCH_EVERY_MS) {
      // Informational, and at most once a minute per key: a failure to write it does not fail the call.
      await this.db
        .tx((m) => scoped(m, { tenantId: row.tenantId }).update(ApiKeyEntity, { id: row.id }, { lastUsedAt: now }))
        .catch(() => undefined);
    }
    return {
      tenantId: row.tenantId,
      credential: 'api_key',
      credentialId: row.id,
      userId: null,
      name: row.name,
      role: row.role,
    };
  }

  /** A platform admin acting inside another tenant, named by id or name; nobody else may. */
  private async actInside(p: Principal, idOrName: string): Promise<Principal> {
    if (p.role !== 'platform_admin') {
      throw ProblemException.forbidden(`${TENANT_HEADER}: only platform admins act inside another tenant`);
    }
    // across tenants: a platform admin names the tenant to act in
    const t = await findTenant(this.db.manager, idOrName);
    if (!t) throw ProblemException.notFound(`tenant ${idOrName} (${TENANT_HEADER})`);
    if (t.id === p.tenantId) return p;
    return { ...p, tenantId: t.id, actingFrom: p.tenantId };
  }

  /** The principal of a live session: its user's role in the session's tenant, read on every call. */
  private async sessionPrincipal(token: string): Promise<Principal | null> {
    const now = Date.now();
    // across tenants: a session's hash is unique over all tenants, and the session says which tenant it acts in
    const s = await this.db.manager.findOne(SessionEntity, { where: { hash: hashToken(token) } });
    if (!s || sessionEnded(s, this.config.auth.sessionIdleMs, now)) return null;
    const [user, membership, tenant] = await Promise.all([
      this.db.manager.findOne(UserEntity, { where: { id: s.userId } }),
      scoped(this.db.manager, s).findOne(MembershipEntity, { where: { userId: s.userId } }),
      this.db.manager.findOne(TenantEntity, { where: { id: s.tenantId } }),
    ]);
    // A removed membership ends the sessions in that tenant at once.
    if (!user || !membership || !isRole(membership.role) || !tenant) return null;
    refuseInactive(memberRole(user, membership.role), tenant);
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
