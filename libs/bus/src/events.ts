export const TOPIC_NAMES = [
  'run-requests',
  'run-events',
  'task-events',
  'catalog-events',
  'tenancy-events',
  'audit',
  'sla-events',
] as const;
export type TopicName = (typeof TOPIC_NAMES)[number];

let configuredPrefix = 'baton.';

/** Sets the prefix of every Baton topic for this process (`BATON_KAFKA_TOPIC_PREFIX`), once at start. */
export function configureTopicPrefix(prefix: string): void {
  configuredPrefix = prefix;
}

/** Topic names with the configurable prefix (default `baton.`). */
export function topic(name: TopicName, prefix = configuredPrefix): string {
  return `${prefix}${name}`;
}

export interface BusEvent<T = unknown> {
  /** Unique per event; consumers record it to make redelivery harmless. */
  id: string;
  topic: string;
  type: string;
  /** Partition key; tenant-scoped events are keyed by tenant. */
  key: string;
  tenantId: string | null;
  payload: T;
  headers: Record<string, string>;
  occurredAt: number;
}

export type EventHandler = (event: BusEvent) => Promise<void>;

export interface SubscribeOptions {
  /**
   * A new group starts at the end of the topic instead of its beginning: for
   * per-process wake-up groups, which only care about what happens from now.
   */
  latest?: boolean;
}

/** Receives events of one topic in delivery order, as many as arrived together. */
export type BatchHandler = (events: BusEvent[]) => Promise<void>;

/** The port both adapters (in-process, Kafka) implement. */
export interface EventBus {
  publish(events: readonly BusEvent[]): Promise<void>;
  /** Every group receives every event of the topic; within a group, one handler does. */
  subscribe(topicName: string, group: string, handler: EventHandler, opts?: SubscribeOptions): Promise<void>;
  /** Like subscribe, handing over events in batches (an adapter without it gets one event per call). */
  subscribeBatch?(topicName: string, group: string, handler: BatchHandler): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_BUS = Symbol.for('baton.event-bus');

// Event payloads that cross service boundaries.
export interface RunRequested {
  tenantId: string;
  jobId: string;
  jobName: string;
  logicalDate: number;
  dedupeKey: string;
  triggerType: string;
  triggerId: string | null;
  params: Record<string, unknown>;
  /** The trigger's overlap policy: allow | skip | queue | cancel_previous (default allow). */
  overlap?: string;
  /** For a time trigger's slot: `fired` on time, or `caught_up` after a misfire. */
  slotOutcome?: string;
  /** W3C trace context of what requested the run (a trigger's fire, a webhook call, an event): the run's parent span. */
  traceparent?: string;
}

export interface JobChanged {
  tenantId: string;
  jobId: string;
  jobName: string;
  version: number | null;
}

export interface RunFinished {
  tenantId: string;
  runId: string;
  jobName: string;
  state: string;
  /** How the run was started (`cron`, `manual`, `dependency`, ...), so consumers skip what is not theirs. */
  triggerType?: string;
  /** The job version the run is pinned to (in the event, not the in-process hook payload). */
  jobVersionId?: string;
}

/**
 * The dedupe key of a time trigger's slot. The trigger, a backfill and a
 * catch-up all use it, so one slot yields one run whoever asks first.
 */
export function slotDedupeKey(triggerId: string, slotMs: number): string {
  return `slot:${triggerId}:${slotMs}`;
}

/** Subscribes with a batch handler on any adapter: batches where the adapter has them, single events otherwise. */
export function subscribeBatch(bus: EventBus, topicName: string, group: string, handler: BatchHandler): Promise<void> {
  if (bus.subscribeBatch) return bus.subscribeBatch(topicName, group, handler);
  return bus.subscribe(topicName, group, (e) => handler([e]));
}
