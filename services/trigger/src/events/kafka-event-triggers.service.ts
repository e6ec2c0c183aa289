import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type Consumer, type EachMessagePayload, Kafka, type LogEntry, logLevel } from 'kafkajs';
import {
  EVENT_ROOTS,
  type EventRecord,
  type EventTrigger,
  defaultEventKey,
  eventDedupeKey,
  eventTopicError,
  matchesEventFilter,
  renderMapping,
  renderParams,
} from '@baton/domain';
import { Database, TenantEntity, TriggerEntity, isUniqueViolation } from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  KAFKA_HEADERS,
  OUTBOX_RELAY,
  type OutboxRelay,
  decodeHeaders,
  retryDelayMs,
  topic,
} from '@baton/bus';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { LOGGER, type Logger, SpanKind, withSpan } from '@baton/telemetry';
import { triggerSpec } from '../time/trigger-spec.js';
import { requestEventRun } from './run-requests.js';

export const EVENT_TRIGGER_GROUP = 'baton-trigger-events';
const SAFETY_REFRESH_MS = 30_000;

interface BoundTrigger {
  row: TriggerEntity;
  spec: EventTrigger;
}

export interface EventTriggerStatus {
  active: boolean;
  /** Why the trigger does not receive records, or null when it does. */
  reason: string | null;
}

/**
 * Event triggers: one kafkajs consumer (group `baton-trigger-events`) reads
 * the topics of enabled event triggers and turns each matching record into a
 * run request. A record's offset is committed only after its run requests
 * committed to the outbox (at-least-once); the dedupe key and the delivery
 * ledger make a redelivered record harmless. Catalog changes re-subscribe.
 * Without brokers (`BATON_KAFKA_BROKERS`) event triggers are accepted but
 * inactive.
 */
@Injectable()
export class KafkaEventTriggersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: Logger;
  private readonly brokers: string[] | null;
  private kafka: Kafka | null = null;
  private consumer: Consumer | null = null;
  /** Enabled event triggers a tenant may bind, by topic. */
  private byTopic = new Map<string, BoundTrigger[]>();
  /** Why an enabled event trigger is not bound. */
  private refused = new Map<string, string>();
  private subscribed = new Set<string>();
  /** Whether the running consumer has joined its group (and will see new records). */
  private joined = false;
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly db: Database,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('event-triggers');
    this.brokers = config.kafka.brokers;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.brokers || this.brokers.length === 0) {
      this.log.info('no Kafka brokers configured: event triggers are inactive');
      return;
    }
    const log = this.log;
    this.kafka = new Kafka({
      clientId: `baton-trigger-events-${hostname()}`,
      brokers: this.brokers,
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, level, log: entry }: LogEntry) => {
          const { message, timestamp: _t, logger: _l, ...fields } = entry;
          if (level <= logLevel.ERROR) log.error(`kafkajs ${namespace}: ${message}`, fields);
          else if (level === logLevel.WARN) log.warn(`kafkajs ${namespace}: ${message}`, fields);
        },
    });
    // Every replica keeps its own subscription current: a group of its own, not shared.
    const group = `trigger.event-topics.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
    await this.bus.subscribe(topic('catalog-events'), group, async () => this.refresh());
    this.timer = setInterval(() => void this.refresh(), SAFETY_REFRESH_MS);
    this.timer.unref();
    await this.refresh();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing.catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** What the trigger API shows about an event trigger. */
  status(t: TriggerEntity): EventTriggerStatus {
    if (!this.brokers) return { active: false, reason: 'no Kafka brokers configured (BATON_KAFKA_BROKERS)' };
    if (!t.enabled) return { active: false, reason: 'disabled' };
    const refused = this.refused.get(t.id);
    if (refused) return { active: false, reason: refused };
    const spec = triggerSpec(t.type, t.spec, t.enabled);
    if (spec.type !== 'event') return { active: false, reason: 'not an event trigger' };
    if (!this.subscribed.has(spec.topic) || !this.joined) return { active: false, reason: 'subscribing' };
    return { active: true, reason: null };
  }

  /** Re-reads the enabled event triggers; re-subscribes when their topics changed. One at a time. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.doRefresh())
      .catch((err: unknown) => this.log.error('event trigger refresh failed', { error: String(err) }));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    if (this.stopped || !this.kafka) return;
    // across tenants: one consumer serves the event triggers of every tenant
    const rows = await this.db.manager.find(TriggerEntity, { where: { type: 'event', enabled: true } });
    const tenantIds = [...new Set(rows.map((r) => r.tenantId))];
    const tenants = tenantIds.length
      ? await this.db.manager
          .createQueryBuilder(TenantEntity, 't')
          .where('t.id IN (:...ids)', { ids: tenantIds })
          .getMany()
      : [];
    const names = new Map(tenants.map((t) => [t.id, t.name]));
    const byTopic = new Map<string, BoundTrigger[]>();
    const refused = new Map<string, string>();
    for (const row of rows) {
      const spec = triggerSpec(row.type, row.spec, row.enabled);
      if (spec.type !== 'event') continue;
      const error = eventTopicError(spec.topic, names.get(row.tenantId) ?? '');
      if (error) {
        refused.set(row.id, error);
        continue;
      }
      const list = byTopic.get(spec.topic) ?? [];
      list.push({ row, spec });
      byTopic.set(spec.topic, list);
    }
    this.byTopic = byTopic;
    this.refused = refused;
    const topics = [...byTopic.keys()].sort();
    if (topics.join('\n') === [...this.subscribed].sort().join('\n') && (this.consumer || topics.length === 0)) return;
    await this.resubscribe(topics);
  }

  /** kafkajs cannot drop a topic from a running consumer: a new consumer takes the new set. */
  private async resubscribe(topics: string[]): Promise<void> {
    const old = this.consumer;
    this.consumer = null;
    this.joined = false;
    this.subscribed = new Set();
    if (old) await old.disconnect();
    if (topics.length === 0 || this.stopped) return;
    const consumer = this.kafka!.consumer({
      groupId: EVENT_TRIGGER_GROUP,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({ eachMessage: (p) => this.handle(p) });
    this.consumer = consumer;
    this.subscribed = new Set(topics);
    this.log.info('event triggers subscribed', { topics: topics.length });
  }

  /** Resolves only once the record's run requests are committed (or it needs none), so its offset may be committed. */
  private async handle(p: EachMessagePayload): Promise<void> {
    if ((this.byTopic.get(p.topic) ?? []).length === 0) return;
    // A span per record, a child of the producer's trace context (its traceparent header): the runs' parent.
    const headers = decodeHeaders(p.message.headers, true);
    return withSpan(
      `${p.topic} process`,
      {
        kind: SpanKind.CONSUMER,
        parent: headers['traceparent'] ?? null,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': p.topic,
          'messaging.destination.partition.id': String(p.partition),
          'messaging.kafka.offset': p.message.offset,
        },
      },
      () => this.handleRecord(p, headers),
    );
  }

  private async handleRecord(
    { topic: name, partition, message }: EachMessagePayload,
    headers: Record<string, string>,
  ): Promise<void> {
    const bound = this.byTopic.get(name) ?? [];
    if (bound.length === 0) return;
    const text = message.value?.toString('utf8') ?? null;
    let value: unknown = text;
    if (text !== null) {
      try {
        value = JSON.parse(text) as unknown;
      } catch {
        // not JSON: the filter sees the text
      }
    }
    const record: EventRecord = {
      topic: name,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      headers,
      value,
    };
    const data = record as unknown as Record<string, unknown>;
    const requests: Array<{ b: BoundTrigger; dedupeKey: string; params: Record<string, unknown> }> = [];
    for (const b of bound) {
      if (b.spec.filter !== null) {
        const m = matchesEventFilter(b.spec.filter, record);
        if (m.error)
          this.log.warn('event filter could not be evaluated; record skipped', { trigger: b.row.id, error: m.error });
        if (!m.match) continue;
      }
      const params = renderParams(b.spec.params, EVENT_ROOTS, data);
      let key: string | null = defaultEventKey({
        topic: name,
        partition,
        offset: message.offset,
        eventId: headers[KAFKA_HEADERS.id] ?? null,
      });
      if (b.spec.dedupeKey !== null) {
        const k = renderMapping(b.spec.dedupeKey, EVENT_ROOTS, data);
        key = k.ok ? (typeof k.value === 'string' ? k.value : JSON.stringify(k.value)) : null;
        if (!k.ok)
          this.log.warn('event dedupe key could not be rendered; record skipped', {
            trigger: b.row.id,
            error: k.error,
          });
      }
      if (!params.ok)
        this.log.warn('event params could not be mapped; record skipped', { trigger: b.row.id, error: params.error });
      if (!params.ok || key === null) continue;
      requests.push({ b, dedupeKey: eventDedupeKey(b.row.id, key), params: params.value });
    }
    if (requests.length === 0) return;
    // Retried in place: the partition waits rather than skip the record.
    for (let attempt = 1; ; attempt++) {
      try {
        const requested = await this.db.tx(async (m) => {
          let n = 0;
          for (const r of requests) {
            const res = await requestEventRun(this.db, m, r.b.row, r.b.spec, {
              dedupeKey: r.dedupeKey,
              logicalDate: null,
              params: r.params,
              traceparent: headers['traceparent'],
            });
            if (res.requested) n++;
          }
          return n;
        });
        if (requested > 0) this.relay.kick();
        return;
      } catch (err) {
        // A concurrent delivery of the same key won: the next attempt sees it as delivered.
        if (this.stopped) throw err;
        if (!isUniqueViolation(err))
          this.log.warn('event trigger could not request a run; retrying', {
            topic: name,
            error: String(err),
            attempt,
          });
        await new Promise((r) => setTimeout(r, retryDelayMs(attempt, 100, 10_000)));
      }
    }
  }
}
