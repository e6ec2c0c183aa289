import { Inject, Injectable } from '@nestjs/common';
import { In, IsNull, type EntityManager } from 'typeorm';
import {
  Database,
  MembershipEntity,
  SessionEntity,
  type TenantScope,
  UserEntity,
  forUpdate,
  isUniqueViolation,
  newId,
  scoped,
} from '@baton/persistence';
import {
  type Principal,
  type Role,
  type TenantRole,
  auditRecord,
  assertMayGrant,
  hashPassword,
  isRole,
  memberRole,
} from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { ProblemException } from '@baton/http';
import { type UserView, emailKey, userView } from './users.views.js';

export interface MemberView extends UserView {
  role: Role;
  memberSince: string;
}

const memberView = (u: UserEntity, m: MembershipEntity): MemberView => ({
  ...userView(u),
  role: isRole(m.role) ? m.role : 'viewer',
  memberSince: new Date(m.createdAt).toISOString(),
});

/**
 * The people of a tenant, managed by its admins. Nobody grants, changes or
 * removes a role above their own, and a tenant keeps at least one tenant_admin.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: Database,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
  ) {}

  async list(scope: TenantScope): Promise<MemberView[]> {
    const rows = await scoped(this.db.manager, scope).find(MembershipEntity, {
      where: {},
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    if (rows.length === 0) return [];
    const found = await this.db.manager.find(UserEntity, { where: { id: In(rows.map((r) => r.userId)) } });
    const users = new Map(found.map((u) => [u.id, u]));
    return rows.flatMap((r) => {
      const u = users.get(r.userId);
      return u ? [memberView(u, r)] : [];
    });
  }

  /** Adds a user to the caller's tenant, creating the user when the email is new. */
  async add(
    p: Principal,
    cmd: { email: string; name: string; password?: string | undefined; role: TenantRole },
  ): Promise<MemberView & { created: boolean }> {
    assertMayGrant(p, cmd.role, 'grant', 'role');
    const key = emailKey(cmd.email);
    // Hashed before the transaction: argon2 takes tens of milliseconds.
    const passwordHash = cmd.password === undefined ? null : await hashPassword(cmd.password);
    try {
      const out = await this.db.tx(async (m) => {
        const now = Date.now();
        let user = await m.findOne(UserEntity, { where: { emailKey: key } });
        const created = !user;
        if (user && cmd.password !== undefined) {
          // A tenant admin must not set the password of someone who may belong to other tenants.
          throw ProblemException.invalidField(
            'password',
            `${cmd.email} has an account already; only they set its password`,
          );
        }
        if (!user) {
          user = {
            id: newId(now),
            email: cmd.email.trim(),
            emailKey: key,
            name: cmd.name,
            passwordHash,
            platformAdmin: false,
            createdAt: now,
            updatedAt: now,
          };
          await m.insert(UserEntity, user);
        }
        const membership: MembershipEntity = {
          id: newId(now),
          tenantId: p.tenantId,
          userId: user.id,
          role: cmd.role,
          createdAt: now,
        };
        await scoped(m, p).insert(MembershipEntity, membership);
        await this.audit(m, p, created ? 'user.created' : 'user.added', user, { role: cmd.role });
        return { ...memberView(user, membership), created };
      });
      this.relay.kick();
      return out;
    } catch (err) {
      if (isUniqueViolation(err)) throw ProblemException.conflict(`${cmd.email} is a member of this tenant already`);
      throw err;
    }
  }

  async setRole(p: Principal, userId: string, role: TenantRole): Promise<MemberView> {
    assertMayGrant(p, role, 'grant', 'role');
    const out = await this.db.tx(async (m) => {
      const { user, membership } = await this.member(m, p, userId);
      if (membership.role === 'tenant_admin' && role !== 'tenant_admin') await this.keepAnAdmin(m, p);
      await scoped(m, p).update(MembershipEntity, { id: membership.id }, { role });
      await this.audit(m, p, 'user.role-changed', user, { from: membership.role, to: role });
      return memberView(user, { ...membership, role });
    });
    this.relay.kick();
    return out;
  }

  /** Removes the user from the caller's tenant (the account stays); their sessions there end. */
  async remove(p: Principal, userId: string): Promise<MemberView> {
    const out = await this.db.tx(async (m) => {
      const { user, membership } = await this.member(m, p, userId);
      if (membership.role === 'tenant_admin') await this.keepAnAdmin(m, p);
      await scoped(m, p).delete(MembershipEntity, { id: membership.id });
      await scoped(m, p).update(SessionEntity, { userId, revokedAt: IsNull() }, { revokedAt: Date.now() });
      await this.audit(m, p, 'user.removed', user, { role: membership.role });
      return memberView(user, membership);
    });
    this.relay.kick();
    return out;
  }

  /** A member of the caller's tenant that the caller may manage; another tenant's user is not found. */
  private async member(m: EntityManager, p: Principal, userId: string) {
    const membership = await scoped(m, p).findOne(MembershipEntity, { where: { userId } });
    const user = membership ? await m.findOne(UserEntity, { where: { id: userId } }) : null;
    if (!membership || !user || !isRole(membership.role)) throw ProblemException.notFound(`user ${userId}`);
    assertMayGrant(p, memberRole(user, membership.role), 'change or remove a member of');
    return { user, membership };
  }

  /** Refuses to take away the tenant's last tenant_admin; the admins' rows stay locked until commit. */
  private async keepAnAdmin(m: EntityManager, scope: TenantScope): Promise<void> {
    const admins = await forUpdate(
      this.db,
      scoped(m, scope).query(MembershipEntity, 'm', 'm.role = :r', { r: 'tenant_admin' }),
    ).getMany();
    if (admins.length <= 1) {
      throw ProblemException.conflict(
        'this is the last tenant_admin of the tenant: make another member tenant_admin first',
      );
    }
  }

  private audit(m: EntityManager, p: Principal, action: string, user: UserEntity, detail: Record<string, unknown>) {
    return enqueueAudit(m, auditRecord(p, action, `user ${user.id} (${user.email})`, detail));
  }
}
