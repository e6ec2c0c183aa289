import { Inject, Injectable } from '@nestjs/common';
import { IsNull, MoreThan } from 'typeorm';
import {
  AttemptLimiter,
  type Principal,
  type TenantRole,
  actorOf,
  assertMayGrant,
  auditRecord,
  hashPassword,
  hashToken,
  isRole,
  issueToken,
  refuseInactive,
  verifyPassword,
} from '@baton/auth';
import {
  Database,
  InvitationEntity,
  MembershipEntity,
  TenantEntity,
  UserEntity,
  isUniqueViolation,
  newId,
  scoped,
} from '@baton/persistence';
import { type InvitationState, invitationState } from '@baton/domain';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { type LinkDelivery, LinkMailer } from '../mail/link-mailer.service.js';
import { AuthService, type ClientInfo, type SessionView } from '../auth/auth.service.js';
import { emailKey, membershipsOf } from '../users/users.views.js';

export interface InvitationView {
  id: string;
  email: string;
  role: string;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
}

/** What an invitation link is for, shown before it is accepted; `state` says whether it still works. */
export interface InvitationPreview {
  tenant: { id: string; name: string };
  email: string;
  role: string;
  invitedBy: string;
  expiresAt: string;
  state: InvitationState;
}

const iso = (ms: number) => new Date(ms).toISOString();
const view = (i: InvitationEntity): InvitationView => ({
  id: i.id,
  email: i.email,
  role: i.role,
  invitedBy: i.invitedBy,
  createdAt: iso(i.createdAt),
  expiresAt: iso(i.expiresAt),
});

/**
 * Tenant admins invite an email with a role: a one-time link (its token
 * stored as a hash, expiring, single use) mailed to the address, or logged in
 * the embedded default. Accepting it creates the account, or adds the
 * membership to an existing one (whose owner proves it with their password),
 * and signs in.
 */
@Injectable()
export class InvitationsService {
  /** Acceptances with a bad token or password, per address. */
  private readonly failuresByIp: AttemptLimiter;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    private readonly mailer: LinkMailer,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
  ) {
    this.failuresByIp = new AttemptLimiter(config.auth.login.perIp, config.auth.login.windowMs);
  }

  async create(
    p: Principal,
    cmd: { email: string; role: TenantRole },
  ): Promise<InvitationView & { link: string; delivery: LinkDelivery }> {
    assertMayGrant(p, cmd.role, 'invite with', 'role');
    const key = emailKey(cmd.email);
    const t = issueToken('inv');
    const now = Date.now();
    const row: InvitationEntity = {
      id: newId(now),
      tenantId: p.tenantId,
      email: cmd.email.trim(),
      emailKey: key,
      role: cmd.role,
      hash: t.hash,
      invitedBy: actorOf(p),
      createdAt: now,
      expiresAt: now + this.config.links.invitationTtlMs,
      acceptedAt: null,
      acceptedUserId: null,
      revokedAt: null,
    };
    await this.db.tx(async (m) => {
      const user = await m.findOne(UserEntity, { where: { emailKey: key } });
      if (user && (await scoped(m, p).exists(MembershipEntity, { where: { userId: user.id } }))) {
        throw ProblemException.conflict(`${cmd.email} is a member of this tenant already`);
      }
      // A new invitation of the same email replaces the pending one (a resend with a fresh link).
      await scoped(m, p).update(
        InvitationEntity,
        { emailKey: key, acceptedAt: IsNull(), revokedAt: IsNull() },
        { revokedAt: now },
      );
      await scoped(m, p).insert(InvitationEntity, row);
      await enqueueAudit(m, auditRecord(p, 'invitation.created', this.target(row), { role: cmd.role }));
    });
    this.relay.kick();
    const tenant = await this.db.manager.findOne(TenantEntity, { where: { id: p.tenantId } });
    const link = `${this.config.http.publicUrl.replace(/\/$/, '')}/invitation/#token=${t.token}`;
    const delivery = await this.mailer.deliver({
      to: row.email,
      subject: `You are invited to Baton (tenant ${tenant?.name ?? p.tenantId})`,
      intro: `${p.name} invites you to the tenant ${tenant?.name ?? p.tenantId} on Baton as ${cmd.role}. Open this link to accept:`,
      link,
      outro: `It works once, until ${iso(row.expiresAt)}.`,
      what: 'invitation',
    });
    return { ...view(row), link, delivery };
  }

  /** The tenant's pending invitations (not accepted, revoked or expired), newest first. */
  async list(p: Principal): Promise<InvitationView[]> {
    const rows = await scoped(this.db.manager, p).find(InvitationEntity, {
      where: { acceptedAt: IsNull(), revokedAt: IsNull(), expiresAt: MoreThan(Date.now()) },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
    return rows.map(view);
  }

  async revoke(p: Principal, id: string): Promise<InvitationView & { revoked: true }> {
    const out = await this.db.tx(async (m) => {
      const row = await scoped(m, p).findOne(InvitationEntity, { where: { id } });
      if (!row || !isRole(row.role)) throw ProblemException.notFound(`invitation ${id}`);
      assertMayGrant(p, row.role, 'revoke an invitation with');
      if (row.acceptedAt !== null) throw ProblemException.conflict(`invitation ${id} was accepted already`);
      if (row.revokedAt === null) {
        await scoped(m, p).update(InvitationEntity, { id }, { revokedAt: Date.now() });
        await enqueueAudit(m, auditRecord(p, 'invitation.revoked', this.target(row), { role: row.role }));
      }
      return { ...view(row), revoked: true as const };
    });
    this.relay.kick();
    return out;
  }

  /**
   * What the link's token invites to: the tenant, role and email, and whether it is still pending. A token
   * that names no invitation is 404 and counts as a failed attempt (like a bad acceptance), so the preview
   * is no faster way to guess tokens than accepting.
   */
  async preview(token: string, client: ClientInfo): Promise<InvitationPreview> {
    const ip = client.ip ?? 'unknown';
    const wait = this.failuresByIp.take(ip);
    if (wait > 0) throw ProblemException.tooManyRequests('too many failed invitation look-ups: try again later', wait);
    // across tenants: the token says which tenant invites
    const row = await this.db.manager.findOne(InvitationEntity, { where: { hash: hashToken(token) } });
    const tenant = row && (await this.db.manager.findOne(TenantEntity, { where: { id: row.tenantId } }));
    if (!row || !tenant) throw ProblemException.notFound('invitation');
    this.failuresByIp.refund(ip);
    return {
      tenant: { id: tenant.id, name: tenant.name },
      email: row.email,
      role: row.role,
      invitedBy: row.invitedBy,
      expiresAt: iso(row.expiresAt),
      state: invitationState(row, Date.now()),
    };
  }

  /**
   * Accepts with the link's token. A new email becomes an account with the name and password given; an email
   * that has an account already joins the tenant once its password is given (the link alone, which the inviter
   * also saw, must not open someone's existing account). Then signs in, in the inviting tenant.
   */
  async accept(
    cmd: { token: string; name?: string | undefined; password: string },
    client: ClientInfo,
  ): Promise<{ token: string; view: SessionView }> {
    const ip = client.ip ?? 'unknown';
    const wait = this.failuresByIp.take(ip);
    if (wait > 0)
      throw ProblemException.tooManyRequests('too many failed invitation acceptances: try again later', wait);
    const bad = () =>
      ProblemException.invalidField('token', 'the invitation is invalid, used, revoked or expired: ask for a new one');
    // across tenants: the token says which tenant invites
    const row = await this.db.manager.findOne(InvitationEntity, { where: { hash: hashToken(cmd.token) } });
    if (!row || invitationState(row, Date.now()) !== 'pending' || !isRole(row.role)) {
      throw bad();
    }
    const tenant = await this.db.manager.findOne(TenantEntity, { where: { id: row.tenantId } });
    if (!tenant) throw bad();
    refuseInactive(row.role, tenant);
    const existing = await this.db.manager.findOne(UserEntity, { where: { emailKey: row.emailKey } });
    let passwordHash: string | null = null;
    if (existing) {
      if (!(await verifyPassword(existing.passwordHash, cmd.password))) {
        throw ProblemException.invalidField(
          'password',
          `${row.email} has an account already: give its password to join (or sign in with it and accept again)`,
        );
      }
    } else {
      if (!cmd.name) throw ProblemException.invalidField('name', 'is required for a new account');
      if (cmd.password.length < 12) throw ProblemException.invalidField('password', 'must be at least 12 characters');
      passwordHash = await hashPassword(cmd.password);
    }
    this.failuresByIp.refund(ip);
    const scope = { tenantId: row.tenantId };
    try {
      const out = await this.db.tx(async (m) => {
        const now = Date.now();
        const taken = await scoped(m, scope).update(
          InvitationEntity,
          { id: row.id, acceptedAt: IsNull(), revokedAt: IsNull() },
          { acceptedAt: now },
        );
        if (taken === 0) throw bad();
        let user = existing;
        if (!user) {
          user = {
            id: newId(now),
            email: row.email,
            emailKey: row.emailKey,
            name: cmd.name ?? row.email,
            passwordHash,
            platformAdmin: false,
            createdAt: now,
            updatedAt: now,
          };
          await m.insert(UserEntity, user);
        }
        await scoped(m, scope).update(InvitationEntity, { id: row.id }, { acceptedUserId: user.id });
        await scoped(m, scope).insert(MembershipEntity, {
          id: newId(now),
          tenantId: row.tenantId,
          userId: user.id,
          role: row.role,
          createdAt: now,
        });
        const actor = `invitation:${row.email} (invitation ${row.id})`.slice(0, 200);
        const target = `user ${user.id} (${user.email})`;
        for (const action of ['invitation.accepted', existing ? 'user.added' : 'user.created']) {
          await enqueueAudit(m, {
            tenantId: row.tenantId,
            action,
            actor,
            target: action === 'invitation.accepted' ? this.target(row) : target,
            status: 200,
            detail: { role: row.role, invitedBy: row.invitedBy },
            occurredAt: now,
          });
        }
        const memberships = await membershipsOf(m, user.id);
        const chosen = memberships.find((x) => x.tenant.id === row.tenantId) ?? {
          tenant: { id: tenant.id, name: tenant.name },
          role: row.role as TenantRole,
        };
        return this.auth.startSession(m, user, chosen, memberships, client, 'invitation');
      });
      this.relay.kick();
      return out;
    } catch (err) {
      if (isUniqueViolation(err)) throw ProblemException.conflict(`${row.email} is a member of this tenant already`);
      throw err;
    }
  }

  private target(row: InvitationEntity): string {
    return `invitation ${row.id} (${row.email})`;
  }
}
