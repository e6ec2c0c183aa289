import { Inject, Injectable } from '@nestjs/common';
import { IsNull, Not } from 'typeorm';
import { Database, PasswordResetEntity, SessionEntity, UserEntity, newId } from '@baton/persistence';
import {
  AttemptLimiter,
  type Principal,
  auditRecord,
  hashPassword,
  hashToken,
  issueToken,
  verifyPassword,
} from '@baton/auth';
import { OUTBOX_RELAY, type OutboxRelay, enqueueAudit } from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ProblemException } from '@baton/http';
import { LOGGER, type Logger } from '@baton/telemetry';
import { emailKey, membershipsOf } from '../users/users.views.js';
import { LinkMailer } from '../mail/link-mailer.service.js';
import { AuthService, type ClientInfo } from './auth.service.js';

/**
 * Changing a password (signed in, with the current one) and resetting a
 * forgotten one (a one-time link to the account's email). Both end the user's
 * other sessions; both are audited.
 */
@Injectable()
export class PasswordsService {
  /** Reset requests per email and per address: each one counts (nothing is given back). */
  private readonly requestsByEmail: AttemptLimiter;
  private readonly requestsByIp: AttemptLimiter;
  /** Reset confirmations with a bad token, per address. */
  private readonly confirmsByIp: AttemptLimiter;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly auth: AuthService,
    private readonly mailer: LinkMailer,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    const { perEmail, perIp, windowMs } = config.auth.login;
    this.requestsByEmail = new AttemptLimiter(perEmail, windowMs);
    this.requestsByIp = new AttemptLimiter(perIp, windowMs);
    this.confirmsByIp = new AttemptLimiter(perIp, windowMs);
    this.log = logger.child('passwords');
  }

  async change(p: Principal, current: string, next: string, client: ClientInfo): Promise<{ sessionsEnded: number }> {
    const userId = this.auth.requireUser(p);
    const user = await this.db.manager.findOne(UserEntity, { where: { id: userId } });
    if (!user) throw ProblemException.unauthorized('the session has ended or was revoked: log in again');
    const ip = client.ip ?? 'unknown';
    // Guesses at the current password count like failed logins: a stolen session does not make them free.
    this.auth.takeAttempt(user.emailKey, ip);
    if (!(await verifyPassword(user.passwordHash, current))) {
      await this.db.tx((m) =>
        enqueueAudit(m, { ...auditRecord(p, 'auth.password-change-failed', `user ${user.id}`, { ip }), status: 400 }),
      );
      this.relay.kick();
      throw ProblemException.invalidField(
        'current',
        user.passwordHash === null
          ? 'the account has no password yet: set one with a password reset'
          : 'is not your current password',
      );
    }
    this.auth.attemptSucceeded(user.emailKey, ip);
    if (current === next) throw ProblemException.invalidField('new', 'must differ from the current password');
    const hash = await hashPassword(next);
    const ended = await this.db.tx(async (m) => {
      const now = Date.now();
      await m.update(UserEntity, { id: user.id }, { passwordHash: hash, updatedAt: now });
      // across tenants: the user's own sessions, in every tenant, except the one changing the password
      const r = await m.update(
        SessionEntity,
        { userId: user.id, revokedAt: IsNull(), id: Not(p.credentialId) },
        { revokedAt: now },
      );
      const n = r.affected ?? 0;
      await enqueueAudit(m, auditRecord(p, 'auth.password-changed', `user ${user.id}`, { sessionsEnded: n }));
      return n;
    });
    this.relay.kick();
    return { sessionsEnded: ended };
  }

  /**
   * Issues a reset link when the email has an account. The caller learns nothing either way: the answer is the
   * same, and the mail goes out after it.
   */
  async requestReset(email: string, client: ClientInfo): Promise<void> {
    const key = emailKey(email);
    const ip = client.ip ?? 'unknown';
    let wait = this.requestsByEmail.take(key);
    if (wait === 0) {
      wait = this.requestsByIp.take(ip);
      if (wait > 0) this.requestsByEmail.refund(key);
    }
    if (wait > 0) throw ProblemException.tooManyRequests('too many password reset requests: try again later', wait);
    const user = await this.db.manager.findOne(UserEntity, { where: { emailKey: key } });
    if (!user) return;
    const t = issueToken('rst');
    const now = Date.now();
    const ttl = this.config.links.passwordResetTtlMs;
    const tenantId =
      (await membershipsOf(this.db.manager, user.id))[0]?.tenant.id ?? (await this.auth.defaultTenantId());
    await this.db.tx(async (m) => {
      await m.insert(PasswordResetEntity, {
        id: newId(now),
        userId: user.id,
        hash: t.hash,
        createdAt: now,
        expiresAt: now + ttl,
        usedAt: null,
      });
      if (tenantId) {
        await enqueueAudit(m, {
          tenantId,
          action: 'auth.password-reset-requested',
          actor: `reset:${key}`.slice(0, 200),
          target: `user ${user.id}`,
          status: 202,
          detail: { ip },
          occurredAt: now,
        });
      }
    });
    this.relay.kick();
    const link = `${this.config.http.publicUrl.replace(/\/$/, '')}/reset-password/#token=${t.token}`;
    // Not awaited: an account's mail taking longer than no mail would tell which emails have one.
    void this.mailer
      .deliver({
        to: user.email,
        subject: 'Reset your Baton password',
        intro: `Someone (hopefully you) asked to reset the password of ${user.email} on Baton. Open this link to choose a new one:`,
        link,
        outro: `It works once, until ${new Date(now + ttl).toISOString()}. If you did not ask, ignore this mail: your password stays as it is.`,
        what: 'password reset',
      })
      .catch((err: unknown) => this.log.error('password reset mail failed', { error: String(err) }));
  }

  /** Sets the password of the link's user, once; every session of the user ends (a reset means it may be known). */
  async confirmReset(token: string, password: string, client: ClientInfo): Promise<{ reset: true; email: string }> {
    const ip = client.ip ?? 'unknown';
    const wait = this.confirmsByIp.take(ip);
    if (wait > 0) throw ProblemException.tooManyRequests('too many bad reset links: try again later', wait);
    const bad = () =>
      ProblemException.invalidField('token', 'the reset link is invalid, used or expired: ask for a new one');
    const row = await this.db.manager.findOne(PasswordResetEntity, { where: { hash: hashToken(token) } });
    if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) throw bad();
    this.confirmsByIp.refund(ip);
    const hash = await hashPassword(password);
    const user = await this.db.tx(async (m) => {
      const now = Date.now();
      // Compare-and-set: of two confirmations at once, one wins.
      const taken = await m.update(PasswordResetEntity, { id: row.id, usedAt: IsNull() }, { usedAt: now });
      if ((taken.affected ?? 0) === 0) throw bad();
      const u = await m.findOne(UserEntity, { where: { id: row.userId } });
      if (!u) throw bad();
      await m.update(UserEntity, { id: u.id }, { passwordHash: hash, updatedAt: now });
      // The user's other links die with this one.
      await m.update(PasswordResetEntity, { userId: u.id, usedAt: IsNull() }, { usedAt: now });
      // across tenants: every session of the user, in every tenant
      const ended = await m.update(SessionEntity, { userId: u.id, revokedAt: IsNull() }, { revokedAt: now });
      const tenantId = (await membershipsOf(m, u.id))[0]?.tenant.id ?? (await this.auth.defaultTenantId());
      if (tenantId) {
        await enqueueAudit(m, {
          tenantId,
          action: 'auth.password-reset',
          actor: `reset:${u.emailKey}`.slice(0, 200),
          target: `user ${u.id}`,
          status: 200,
          detail: { ip, sessionsEnded: ended.affected ?? 0 },
          occurredAt: now,
        });
      }
      return u;
    });
    this.relay.kick();
    return { reset: true, email: user.email };
  }
}
