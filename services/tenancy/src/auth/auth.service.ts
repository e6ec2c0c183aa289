import { Inject, Injectable } from '@nestjs/common';
import { IsNull, type EntityManager } from 'typeorm';
import {
  Database,
  DEFAULT_TENANT_NAME,
  SessionEntity,
  TenantEntity,
  UserEntity,
  newId,
  scoped,
} from '@baton/persistence';
import {
  AttemptLimiter,
  type Principal,
  type Role,
  actorOf,
  auditRecord,
  csrfTokenFor,
  issueToken,
  memberRole,
  sessionEnded,
  verifyPassword,
} from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { type MembershipView, type UserView, emailKey, membershipsOf, userView } from '../users/users.views.js';

/** Who is signed in, where, and the token mutating calls must echo. */
export interface SessionView {
  credential: Principal['credential'];
  user: UserView | null;
  tenant: { id: string; name: string };
  role: Role;
  memberships: MembershipView[];
  /** Send it as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the session cookie. */
  csrfToken: string | null;
  session: { id: string; expiresAt: string } | null;
}

export interface SessionListItem {
  id: string;
  tenantId: string;
  current: boolean;
  userAgent: string | null;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  /** The earlier of the idle and the absolute expiry. */
  expiresAt: string;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Login sessions: password check, rate limit of failures, the session row and its audit records. */
@Injectable()
export class AuthService {
  private readonly byEmail: AttemptLimiter;
  private readonly byIp: AttemptLimiter;

  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {
    const { perEmail, perIp, windowMs } = config.auth.login;
    this.byEmail = new AttemptLimiter(perEmail, windowMs);
    this.byIp = new AttemptLimiter(perIp, windowMs);
  }

  /** Starts a session; the token goes in the cookie only, the caller gets it here once. */
  async login(
    input: { email: string; password: string; tenant?: string | undefined },
    client: ClientInfo,
  ): Promise<{ token: string; view: SessionView }> {
    const key = emailKey(input.email);
    const ip = client.ip ?? 'unknown';
    this.takeAttempt(key, ip);
    const user = await this.db.manager.findOne(UserEntity, { where: { emailKey: key } });
    // Verified even without a user, so that an unknown email answers as slowly as a wrong password.
    const ok = await verifyPassword(user?.passwordHash ?? null, input.password);
    const memberships = user ? await membershipsOf(this.db.manager, user.id) : [];
    if (!user || !ok) {
      const tenantId = memberships[0]?.tenant.id ?? (await this.defaultTenantId());
      if (tenantId) {
        await this.db.tx((m) =>
          enqueueAudit(m, {
            tenantId,
            action: 'auth.login-failed',
            actor: `login:${key}`.slice(0, 200),
            target: user ? `user ${user.id}` : 'unknown user',
            status: 401,
            detail: { ip },
            occurredAt: Date.now(),
          }),
        );
        this.relay.kick();
      }
      throw ProblemException.unauthorized('the email or the password is wrong');
    }
    this.attemptSucceeded(key, ip);
    const chosen = input.tenant ? memberships.find((x) => x.tenant.name === input.tenant) : memberships[0];
    if (!chosen) {
      if (input.tenant) throw ProblemException.invalidField('tenant', `you are not a member of tenant ${input.tenant}`);
      throw ProblemException.forbidden('the user is a member of no tenant: ask a tenant admin to add them');
    }
    const out = await this.db.tx((m) => this.startSession(m, user, chosen, memberships, client, 'password'));
    this.relay.kick();
    return out;
  }

  /**
   * Opens a session of `user` in `chosen`'s tenant inside the caller's transaction, with its `auth.login` record
   * (`method`: how the user proved who they are). Password login, invitations and SSO all end here.
   */
  async startSession(
    m: EntityManager,
    user: UserEntity,
    chosen: MembershipView,
    memberships: MembershipView[],
    client: ClientInfo,
    method: 'password' | 'invitation' | 'oidc',
  ): Promise<{ token: string; view: SessionView }> {
    const now = Date.now();
    const t = issueToken('ses');
    const s: SessionEntity = {
      id: newId(now),
      userId: user.id,
      tenantId: chosen.tenant.id,
      hash: t.hash,
      userAgent: client.userAgent?.slice(0, 200) ?? null,
      ip: client.ip?.slice(0, 64) ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.config.auth.sessionMaxMs,
      revokedAt: null,
    };
    const role = memberRole(user, chosen.role);
    const p: Principal = {
      tenantId: s.tenantId,
      credential: 'session',
      credentialId: s.id,
      userId: user.id,
      name: user.email,
      role,
    };
    await scoped(m, s).insert(SessionEntity, s);
    await enqueueAudit(m, {
      tenantId: s.tenantId,
      action: 'auth.login',
      actor: actorOf(p),
      target: `session ${s.id}`,
      status: 200,
      detail: { ip: client.ip ?? 'unknown', ...(method === 'password' ? {} : { method }) },
      occurredAt: now,
    });
    return { token: t.token, view: this.sessionView(user, chosen, role, memberships, t.token, s) };
  }

  /** The caller as the portal shows it; for a session, with its CSRF token (read from the cookie). */
  async current(p: Principal, sessionToken: string | null): Promise<SessionView> {
    const m = this.db.manager;
    const tenant = await m.findOne(TenantEntity, { where: { id: p.tenantId } });
    const here = { id: p.tenantId, name: tenant?.name ?? p.tenantId };
    if (p.credential === 'api_key' || p.userId === null) {
      return {
        credential: p.credential,
        user: null,
        tenant: here,
        role: p.role,
        memberships: [],
        csrfToken: null,
        session: null,
      };
    }
    const [user, s, memberships] = await Promise.all([
      m.findOne(UserEntity, { where: { id: p.userId } }),
      // across tenants: the caller's own session
      m.findOne(SessionEntity, { where: { id: p.credentialId, userId: p.userId } }),
      membershipsOf(m, p.userId),
    ]);
    if (!user || !s) throw ProblemException.unauthorized('the session has ended or was revoked: log in again');
    const chosen = memberships.find((x) => x.tenant.id === p.tenantId) ?? { tenant: here, role: p.role };
    return this.sessionView(user, chosen, p.role, memberships, sessionToken, s);
  }

  async logout(p: Principal): Promise<{ ended: true }> {
    const userId = this.requireUser(p);
    await this.db.tx((m) => this.end(m, p, userId, p.credentialId, 'auth.logout'));
    this.relay.kick();
    return { ended: true };
  }

  /** The user's own live sessions, in every tenant; never their tokens. */
  async sessions(p: Principal): Promise<SessionListItem[]> {
    const userId = this.requireUser(p);
    const now = Date.now();
    const idle = this.config.auth.sessionIdleMs;
    // across tenants: a user's own sessions, in every tenant they belong to
    const rows = await this.db.manager.find(SessionEntity, {
      where: { userId, revokedAt: IsNull() },
      order: { createdAt: 'DESC' },
    });
    return rows
      .filter((s) => !sessionEnded(s, idle, now))
      .map((s) => ({
        id: s.id,
        tenantId: s.tenantId,
        current: s.id === p.credentialId,
        userAgent: s.userAgent,
        ip: s.ip,
        createdAt: iso(s.createdAt),
        lastSeenAt: iso(s.lastSeenAt),
        expiresAt: iso(Math.min(s.expiresAt, s.lastSeenAt + idle)),
      }));
  }

  async revoke(p: Principal, id: string): Promise<{ id: string; revoked: true }> {
    const userId = this.requireUser(p);
    await this.db.tx((m) => this.end(m, p, userId, id, 'auth.session-revoked'));
    this.relay.kick();
    return { id, revoked: true };
  }

  /** Moves the session to another tenant of the user's; the role is that membership's. */
  async switchTenant(p: Principal, tenantName: string, sessionToken: string | null): Promise<SessionView> {
    const userId = this.requireUser(p);
    const memberships = await membershipsOf(this.db.manager, userId);
    const target = memberships.find((x) => x.tenant.name === tenantName);
    // Another tenant's name answers as an unknown one.
    if (!target) throw ProblemException.notFound(`tenant ${tenantName}`);
    await this.db.tx(async (m) => {
      // across tenants: the caller's own session moves to another of its memberships
      await m.update(SessionEntity, { id: p.credentialId, userId }, { tenantId: target.tenant.id });
      await enqueueAudit(m, {
        tenantId: target.tenant.id,
        action: 'auth.tenant-switched',
        actor: actorOf(p),
        target: `session ${p.credentialId}`,
        status: 200,
        detail: { from: p.tenantId },
        occurredAt: Date.now(),
      });
    });
    this.relay.kick();
    const user = await this.db.manager.findOne(UserEntity, { where: { id: userId } });
    const role = user ? memberRole(user, target.role) : p.role;
    return this.current({ ...p, tenantId: target.tenant.id, role }, sessionToken);
  }

  private async end(m: EntityManager, p: Principal, userId: string, id: string, action: string): Promise<void> {
    // across tenants: one of the user's own sessions, in whichever tenant
    const s = await m.findOne(SessionEntity, { where: { id, userId } });
    // Someone else's session is not found, whoever owns it.
    if (!s) throw ProblemException.notFound(`session ${id}`);
    if (s.revokedAt !== null) return;
    const now = Date.now();
    // across tenants: the user's own session found above
    await m.update(SessionEntity, { id, userId }, { revokedAt: now });
    await enqueueAudit(m, auditRecord(p, action, `session ${id}`, {}, s.tenantId));
  }

  /**
   * Each attempt at a user's password (login, password change) takes a token of its email and of its address
   * (given back on success), or is refused with 429.
   */
  takeAttempt(key: string, ip: string): void {
    let wait = this.byEmail.take(key);
    if (wait === 0) {
      wait = this.byIp.take(ip);
      if (wait > 0) this.byEmail.refund(key);
    }
    if (wait > 0) throw ProblemException.tooManyRequests('too many failed logins: try again later', wait);
  }

  /** Gives back the tokens of an attempt whose password was right. */
  attemptSucceeded(key: string, ip: string): void {
    this.byEmail.refund(key);
    this.byIp.refund(ip);
  }

  requireUser(p: Principal): string {
    if (p.credential !== 'session' || p.userId === null) {
      throw ProblemException.badRequest(
        'this route is for login sessions; an API key has none (revoke the key instead)',
      );
    }
    return p.userId;
  }

  async defaultTenantId(): Promise<string | null> {
    const t = await this.db.manager.findOne(TenantEntity, { where: { name: DEFAULT_TENANT_NAME } });
    return t?.id ?? null;
  }

  private sessionView(
    user: UserEntity,
    chosen: MembershipView,
    role: Role,
    memberships: MembershipView[],
    token: string | null,
    s: SessionEntity,
  ): SessionView {
    return {
      credential: 'session',
      user: userView(user),
      tenant: chosen.tenant,
      role,
      memberships,
      csrfToken: token === null ? null : csrfTokenFor(token),
      session: { id: s.id, expiresAt: iso(Math.min(s.expiresAt, s.lastSeenAt + this.config.auth.sessionIdleMs)) },
    };
  }
}
