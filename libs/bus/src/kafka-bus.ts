import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  type LogEntry,
  type Message,
  Partitioners,
  type Producer,
  type TopicMessages,
  logLevel,
} from 'kafkajs';
import { withRemoteContext } from '@baton/telemetry';
import {
  type BusEvent,
  type EventBus,
  type EventHandler,
  type SubscribeOptions,
  TOPIC_NAMES,
  topic,
} from './events.js';

export interface BusLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface KafkaBusOptions {
  /** Bootstrap servers, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  clientId: string;
  /** Prefix of the DESIGN §6 topics (default `baton.`), see `topic()`. */
  topicPrefix?: string;
  /** Partitions of the topics this bus creates (default 3). */
  partitions?: number;
  /** Receives kafkajs's own warnings and errors, and the bus's; default: console. */
  logger?: BusLogger;
  /** Backoff of a failing handler: first and longest wait (default 100 ms, 30 s). */
  retryBackoffMs?: { initial: number; max: number };
}

/** Kafka record headers the bus sets on every event (besides `BusEvent.headers`). */
export const KAFKA_HEADERS = { id: 'event-id', type: 'event-type', tenant: 'tenant-id' } as const;
const RESERVED = new Set<string>(Object.values(KAFKA_HEADERS));

/**
 * A BusEvent as a Kafka record: keyed by `event.key` (the tenant for tenant
 * events, so one tenant's events stay in order on one partition), the value is
 * the event's JSON, and the headers carry the event's id, type and tenant
 * plus `event.headers` (trace context), so they can be routed without parsing.
 */
export function toKafkaMessage(event: BusEvent): Message {
  const headers: IHeaders = { ...event.headers, [KAFKA_HEADERS.id]: event.id, [KAFKA_HEADERS.type]: event.type };
  if (event.tenantId !== null) headers[KAFKA_HEADERS.tenant] = event.tenantId;
  return {
    key: event.key,
    value: JSON.stringify(event),
    headers,
    timestamp: String(event.occurredAt),
  };
}

/** Groups events per topic, keeping their order, for one `sendBatch`. */
export function toTopicMessages(events: readonly BusEvent[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const event of events) {
    let messages = byTopic.get(event.topic);
    if (!messages) byTopic.set(event.topic, (messages = []));
    messages.push(toKafkaMessage(event));
  }
  return [...byTopic].map(([name, messages]) => ({ topic: name, messages }));
}

function headerText(value: IHeaders[string]): string | undefined {
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** Kafka record headers as strings, without the bus's own (`event-id`, ...). */
export function decodeHeaders(headers: IHeaders | undefined, withReserved = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined && (withReserved || !RESERVED.has(name))) out[name] = text;
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The BusEvent in a Kafka record, or null when the record holds none (no value,
 * not JSON, no event id or type). The record's topic wins over the one in the
 * JSON; fields missing from the JSON come from the headers, key and timestamp.
 */
export function fromKafkaMessage(
  topicName: string,
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'timestamp'>,
): BusEvent | null {
  if (!message.value) return null;
  let body: unknown;
  try {
    body = JSON.parse(message.value.toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(body)) return null;
  const headers = decodeHeaders(message.headers, true);
  const id = typeof body.id === 'string' ? body.id : headers[KAFKA_HEADERS.id];
  const type = typeof body.type === 'string' ? body.type : headers[KAFKA_HEADERS.type];
  if (!id || !type) return null;
  const tenantId =
    typeof body.tenantId === 'string' || body.tenantId === null
      ? body.tenantId
      : (headers[KAFKA_HEADERS.tenant] ?? null);
  return {
    id,
    topic: topicName,
    type,
    key: typeof body.key === 'string' ? body.key : (message.key?.toString('utf8') ?? ''),
    tenantId,
    payload: body.payload,
    headers: isRecord(body.headers)
      ? Object.fromEntries(Object.entries(body.headers).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : decodeHeaders(message.headers),
    occurredAt: typeof body.occurredAt === 'number' ? body.occurredAt : Number(message.timestamp),
  };
}

/** The wait before retry `attempt` (1-based) of a failing handler: doubling, capped. */
export function retryDelayMs(attempt: number, initial: number, max: number): number {
  return Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
}

const consoleLogger: BusLogger = {
  info: (msg, fields) => console.info(msg, fields ?? ''),
  warn: (msg, fields) => console.warn(msg, fields ?? ''),
  error: (msg, fields) => console.error(msg, fields ?? ''),
};

/**
 * The Kafka adapter of the EventBus port (DESIGN §6).
 *
 * - `publish` sends through an idempotent producer with `acks: -1`, one
 *   `sendBatch` per call, keyed by `event.key`; it resolves once the broker
 *   has the events, so the outbox relay marks them published only then.
 * - `subscribe` starts one consumer in `group`; a new group starts at the
 *   beginning of the topic. It resolves once a wake-up group (`latest`) has
 *   joined; a shared group joins in the background, so a restarted replica
 *   is not held up by a dead member's session. A record's offset is
 *   committed only after the handler resolved; a failing handler is retried with backoff, in place, so
 *   the partition waits and nothing is skipped (at-least-once: consumers are
 *   idempotent, see `consumeOnce`). Records without a BusEvent are logged and
 *   skipped. Partitions are handled concurrently, each one in order.
 */
export class KafkaBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly logger: BusLogger;
  private readonly prefix: string;
  private readonly partitions: number;
  private readonly backoff: { initial: number; max: number };
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly consumers: Consumer[] = [];
  private readonly knownTopics = new Set<string>();
  private starting: Promise<void> | null = null;
  private closed = false;

  constructor(opts: KafkaBusOptions) {
    this.logger = opts.logger ?? consoleLogger;
    this.prefix = opts.topicPrefix ?? 'baton.';
    this.partitions = opts.partitions ?? 3;
    this.backoff = opts.retryBackoffMs ?? { initial: 100, max: 30_000 };
    const logger = this.logger;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, level, log }: LogEntry) => {
          const { message, timestamp: _t, logger: _l, ...fields } = log;
          const line = `kafkajs ${namespace}: ${message}`;
          if (level <= logLevel.ERROR) logger.error(line, fields);
          else if (level === logLevel.WARN) logger.warn(line, fields);
        },
    });
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** The name of a DESIGN §6 topic with this bus's prefix. */
  topic(name: (typeof TOPIC_NAMES)[number]): string {
    return topic(name, this.prefix);
  }

  /** Connects the producer and creates the DESIGN §6 topics that are missing. Idempotent. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('KafkaBus is closed'));
    this.starting ??= (async () => {
      await this.admin.connect();
      await this.producer.connect();
      await this.ensureTopics(TOPIC_NAMES.map((n) => topic(n, this.prefix)));
      this.logger.info('kafka bus started', { prefix: this.prefix, partitions: this.partitions });
    })().catch((err: unknown) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.start();
    await this.producer.sendBatch({ topicMessages: toTopicMessages(events), acks: -1 });
  }

  async subscribe(topicName: string, group: string, handler: EventHandler, opts: SubscribeOptions = {}): Promise<void> {
    await this.start();
    await this.ensureTopics([topicName]);
    const consumer = this.kafka.consumer({ groupId: group, maxWaitTimeInMs: 1_000 });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topicName], fromBeginning: !opts.latest });
    const running = consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.partitions,
      eachBatch: (payload) => this.consumeBatch(group, handler, payload),
    });
    // A wake-up group (one member, starting at the end) joins at once; wait, so what follows is seen.
    if (opts.latest) return running;
    // A shared group joins in the background: a member killed a moment ago stays in the group until its
    // session times out, and a restarted replica must not wait for that to become ready. Nothing is lost:
    // the group resumes from its committed offsets once it has joined.
    void running.catch((err: unknown) =>
      this.logger.error('kafka bus: a consumer failed to start', { group, topic: topicName, error: String(err) }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const consumers = this.consumers.splice(0);
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private async ensureTopics(names: readonly string[]): Promise<void> {
    const missing = names.filter((n) => !this.knownTopics.has(n));
    if (missing.length === 0) return;
    const existing = new Set(await this.admin.listTopics());
    const toCreate = missing.filter((n) => !existing.has(n));
    if (toCreate.length > 0) {
      try {
        await this.admin.createTopics({
          topics: toCreate.map((name) => ({ topic: name, numPartitions: this.partitions })),
          waitForLeaders: true,
        });
      } catch (err) {
        // Another process may have created them meanwhile; anything else is real.
        const now = new Set(await this.admin.listTopics());
        if (!toCreate.every((n) => now.has(n))) throw err;
      }
    }
    for (const n of missing) this.knownTopics.add(n);
  }

  private async consumeBatch(group: string, handler: EventHandler, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const running = () => p.isRunning() && !p.isStale();
    try {
      for (const message of batch.messages) {
        if (!running()) break;
        const event = fromKafkaMessage(batch.topic, message);
        if (!event) {
          this.logger.error('kafka bus: record holds no BusEvent; skipped', {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            group,
          });
        } else if (!(await this.handleUntilDone(group, handler, event, message.offset, p, running))) {
          break; // stopping or rebalancing: this record stays uncommitted and comes again
        }
        p.resolveOffset(message.offset);
        await p.heartbeat();
      }
    } finally {
      // Commit what the handler finished, also when stopping or failing mid-batch.
      const offsets = p.uncommittedOffsets();
      if (offsets.topics.length > 0) {
        await p.commitOffsetsIfNecessary(offsets).catch((err: unknown) =>
          this.logger.warn('kafka bus: offset commit failed; the records will come again', {
            group,
            topic: batch.topic,
            partition: batch.partition,
            error: String(err),
          }),
        );
      }
    }
  }

  /** Runs the handler until it resolves (true) or the consumer stops (false). */
  private async handleUntilDone(
    group: string,
    handler: EventHandler,
    event: BusEvent,
    offset: string,
    p: EachBatchPayload,
    running: () => boolean,
  ): Promise<boolean> {
    // Keep the group membership alive while a slow handler runs.
    const beat = setInterval(() => void p.heartbeat().catch(() => undefined), 3_000);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          // In the trace context the record's headers carry (traceparent).
          await withRemoteContext(event.headers, () => handler(event));
          return true;
        } catch (err) {
          const delay = retryDelayMs(attempt, this.backoff.initial, this.backoff.max);
          this.logger.warn('kafka bus: handler failed; retrying', {
            group,
            topic: event.topic,
            partition: p.batch.partition,
            offset,
            eventId: event.id,
            attempt,
            retryInMs: delay,
            error: err instanceof Error ? err.message : String(err),
          });
          const until = Date.now() + delay;
          while (Date.now() < until) {
            if (!running()) return false;
            await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
          }
          if (!running()) return false;
          // Throws when the group rebalances: the record stays uncommitted and whoever
          // gets the partition next retries it.
          await p.heartbeat();
        }
      }
    } finally {
      clearInterval(beat);
    }
  }
}
