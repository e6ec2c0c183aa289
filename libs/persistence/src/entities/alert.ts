import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../columns.js';

const ms = (nullable = false) => ({ type: 'bigint' as const, transformer: epochMs, nullable });

/** A tenant's alert channel: a signed webhook, a Slack incoming webhook, or email addresses. */
@Entity('alert_channels')
@Index('ux_alert_channels_name', ['tenantId', 'name'], { unique: true })
export class AlertChannelEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 64 }) name!: string;
  /** webhook | slack | email */
  @Column('varchar', { length: 16 }) type!: string;
  @Column('text', { nullable: true }) url!: string | null;
  /** Email: JSON list of addresses. */
  @Column('text', { nullable: true }) recipients!: string | null;
  /** Webhook: the signing secret sealed with BATON_SECRETS_KEY (`v2.<key id>...`); never returned. */
  @Column('text', { nullable: true }) secretSealed!: string | null;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}

/** A tenant's alert rule: which events of which jobs go to which channels, throttled per rule and job. */
@Entity('alert_rules')
@Index('ux_alert_rules_name', ['tenantId', 'name'], { unique: true })
export class AlertRuleEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 64 }) name!: string;
  /** JSON lists. */
  @Column('text') events!: string;
  @Column('text') jobs!: string;
  @Column('text') channels!: string;
  @Column(ms()) throttleMs!: number;
  @Column(ms(true)) agentOfflineAfterMs!: number | null;
  @Column('boolean') enabled!: boolean;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}

/**
 * One alert of one rule to one channel for one event: pending until a sender
 * claims and sends it, then sent, failed (out of attempts) or suppressed (by
 * the rule's throttle; kept for the history). `dedupeKey` (event, rule,
 * channel) is UNIQUE: consuming an event twice inserts nothing the second time.
 */
@Entity('alert_deliveries')
@Index('ux_alert_deliveries_dedupe', ['dedupeKey'], { unique: true })
@Index('ix_alert_deliveries_due', ['nextAttemptAt'])
@Index('ix_alert_deliveries_history', ['tenantId', 'id'])
@Index('ix_alert_deliveries_throttle', ['tenantId', 'ruleName', 'jobName', 'createdAt'])
export class AlertDeliveryEntity {
  @PrimaryColumn('varchar', { length: 36 }) id!: string;
  @Column('varchar', { length: 36 }) tenantId!: string;
  @Column('varchar', { length: 200 }) dedupeKey!: string;
  @Column('varchar', { length: 36 }) eventId!: string;
  @Column('varchar', { length: 32 }) event!: string;
  @Column('boolean') resolved!: boolean;
  @Column('varchar', { length: 64 }) ruleName!: string;
  @Column('varchar', { length: 64 }) channelName!: string;
  @Column('varchar', { length: 100, nullable: true }) jobName!: string | null;
  @Column('varchar', { length: 36, nullable: true }) runId!: string | null;
  @Column('varchar', { length: 100, nullable: true }) taskKey!: string | null;
  @Column('varchar', { length: 500, nullable: true }) reason!: string | null;
  /** JSON AlertFacts: what the message is made of. */
  @Column('text') facts!: string;
  /** pending | sent | failed | suppressed */
  @Column('varchar', { length: 16 }) state!: string;
  @Column('int', { default: 0 }) attempts!: number;
  @Column('varchar', { length: 500, nullable: true }) lastError!: string | null;
  /** When a sender takes it (null once sent, failed or suppressed). */
  @Column(ms(true)) nextAttemptAt!: number | null;
  @Column(ms(true)) sentAt!: number | null;
  @Column(ms()) createdAt!: number;
  @Column(ms()) updatedAt!: number;
}
