import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { IsNull, Not } from 'typeorm';
import { channelSecretAad } from '@baton/auth';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { ALERT_MAX_ATTEMPTS, type AlertFacts, alertMessage, nextDeliveryAttemptAt, runLink } from '@baton/domain';
import { AlertChannelEntity, AlertDeliveryEntity, Database, scoped, skipLocked } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';
import { AlarmedDrainer } from '../alarmed-drainer.js';
import { AlertConfigService } from './alert-config.service.js';
import {
  Mailer,
  PermanentDeliveryError,
  SEND_TIMEOUT_MS,
  type SendPolicy,
  sendSlack,
  sendWebhook,
} from './alert-transports.js';

/** Deliveries claimed per transaction. */
const CLAIM_BATCH = 20;
/** A claimed delivery is another replica's to take again after this long (a sender that died mid-send). */
const SEND_LEASE_MS = SEND_TIMEOUT_MS * 3;
/** The safety net when a wake-up is lost; sends are pushed by wake-ups and the alarm at the next due one. */
const POLL_MS = 30_000;

/**
 * Sends due deliveries: every replica claims them (`FOR UPDATE SKIP LOCKED`
 * on MySQL; SQLite has one process) and leases them by moving their due time
 * and counting the attempt, in one short transaction; then sends outside it,
 * and records sent, a retry (alertRetryDelayMs) or failed (ALERT_MAX_ATTEMPTS)
 * by compare-and-set on the attempt count. Woken after the commit that
 * records deliveries; an alarm waits for the next due retry.
 */
@Injectable()
export class AlertSender implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly loop: AlarmedDrainer;
  private readonly mailer: Mailer | null;
  private readonly policy: SendPolicy;

  constructor(
    private readonly db: Database,
    private readonly channels: AlertConfigService,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('alerts');
    this.policy = { allowPrivate: config.alerts.allowPrivateUrls };
    this.mailer = config.smtp ? new Mailer(config.smtp.url, config.smtp.from) : null;
    this.loop = new AlarmedDrainer(() => this.drain(), {
      intervalMs: POLL_MS,
      log: this.log,
      failure: 'alert sending failed',
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    this.mailer?.close();
  }

  /** Sends what is due now (then the alarm is set at the next due delivery). */
  wake(): void {
    this.loop.kick();
  }

  /** Sends every due delivery; answers when the next one is due. */
  private async drain(): Promise<number | null> {
    while (!this.loop.isStopped && (await this.sendDue()) > 0);
    // across tenants: one alarm for the next due delivery of any tenant
    const next = await this.db.manager.findOne(AlertDeliveryEntity, {
      where: { state: 'pending', nextAttemptAt: Not(IsNull()) },
      order: { nextAttemptAt: 'ASC' },
      select: { id: true, nextAttemptAt: true },
    });
    return next?.nextAttemptAt ?? null;
  }

  /** Claims up to CLAIM_BATCH due deliveries and sends them; returns how many it claimed. */
  async sendDue(now = Date.now()): Promise<number> {
    const claimed = await this.db.tx(async (m) => {
      // across tenants: every replica claims the due deliveries of all tenants
      const q = m
        .createQueryBuilder(AlertDeliveryEntity, 'd')
        .where('d.next_attempt_at <= :now', { now })
        .andWhere('d.state = :s', { s: 'pending' })
        .orderBy('d.next_attempt_at', 'ASC')
        .limit(CLAIM_BATCH);
      const rows = await skipLocked(this.db, q).getMany();
      const mine: AlertDeliveryEntity[] = [];
      for (const d of rows) {
        const n = await scoped(m, d).update(
          AlertDeliveryEntity,
          { id: d.id, state: 'pending', attempts: d.attempts },
          { attempts: d.attempts + 1, nextAttemptAt: now + SEND_LEASE_MS, updatedAt: now },
        );
        if (n === 1) mine.push({ ...d, attempts: d.attempts + 1 });
      }
      return mine;
    });
    await Promise.all(claimed.map((d) => this.deliver(d)));
    return claimed.length;
  }

  private async deliver(d: AlertDeliveryEntity): Promise<void> {
    let error: string | null = null;
    let permanent = false;
    try {
      await this.send(d);
    } catch (err) {
      error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      permanent = err instanceof PermanentDeliveryError;
    }
    const now = Date.now();
    const retryAt = error === null || permanent ? null : nextDeliveryAttemptAt(d.attempts, now, ALERT_MAX_ATTEMPTS);
    const state = error === null ? 'sent' : retryAt === null ? 'failed' : 'pending';
    // Only if the lease is still this sender's (the attempt count it claimed).
    await scoped(this.db.manager, d).update(
      AlertDeliveryEntity,
      { id: d.id, state: 'pending', attempts: d.attempts },
      {
        state,
        lastError: error,
        nextAttemptAt: retryAt,
        ...(error === null ? { sentAt: now } : {}),
        updatedAt: now,
      },
    );
    const fields = { id: d.id, rule: d.ruleName, channel: d.channelName, runId: d.runId, attempt: d.attempts };
    if (error === null) this.log.info('alert sent', fields);
    else this.log.warn(`alert ${state === 'failed' ? 'given up' : 'failed; will retry'}`, { ...fields, error });
  }

  private async send(d: AlertDeliveryEntity): Promise<void> {
    const channel = await scoped(this.db.manager, d).findOne(AlertChannelEntity, { where: { name: d.channelName } });
    if (!channel) throw new PermanentDeliveryError(`alert channel ${d.channelName} no longer exists`);
    const facts = JSON.parse(d.facts) as AlertFacts;
    const url = facts.runId ? runLink(this.config.http.publicUrl, facts.runId) : null;
    const msg = alertMessage(facts, url);
    switch (channel.type) {
      case 'webhook': {
        let secret: string | null = null;
        if (channel.secretSealed) {
          secret = this.channels.box.open(channel.secretSealed, channelSecretAad(channel.tenantId, channel.name));
          if (secret === null) {
            throw new PermanentDeliveryError(
              'the channel secret does not open with BATON_SECRETS_KEY (a key left out?)',
            );
          }
        }
        const payload = {
          id: d.id,
          event: d.event,
          resolved: d.resolved,
          rule: d.ruleName,
          channel: d.channelName,
          job: facts.jobName,
          agent: facts.agent ?? null,
          runId: facts.runId,
          taskKey: facts.taskKey,
          reason: facts.reason,
          logicalDate: facts.logicalDate === null ? null : new Date(facts.logicalDate).toISOString(),
          runUrl: url,
          title: msg.title,
          text: msg.lines,
          occurredAt: new Date(d.createdAt).toISOString(),
        };
        return sendWebhook(channel.url!, payload, secret, d.id, d.event, this.policy);
      }
      case 'slack':
        return sendSlack(channel.url!, msg, url, this.policy);
      case 'email': {
        if (!this.mailer) {
          throw new PermanentDeliveryError('email is not configured on this insight service (set BATON_SMTP_URL)');
        }
        const to = JSON.parse(channel.recipients ?? '[]') as string[];
        return this.mailer.send(to, msg, { 'X-Baton-Delivery': d.id, 'X-Baton-Event': d.event });
      }
      default:
        throw new PermanentDeliveryError(`unknown channel type ${channel.type}`);
    }
  }
}
