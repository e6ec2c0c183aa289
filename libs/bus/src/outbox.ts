import { type EntityManager, In } from 'typeorm';
import {
  type Database,
  OutboxEntity,
  ProcessedEventEntity,
  isUniqueViolation,
  newId,
  notifyAfterCommitOf,
} from '@baton/persistence';
import { traceHeaders } from '@baton/telemetry';
import { Drainer } from './drainer.js';
import { type BusEvent, type EventBus, topic } from './events.js';

export interface OutgoingEvent<T = unknown> {
  topic: string;
  type: string;
  key: string;
  tenantId: string | null;
  payload: T;
  headers?: Record<string, string>;
}

/** Writes an event in the caller's transaction; the relay publishes it after commit. */
/** Signalled after a commit that wrote outbox rows: the relay of this process drains only then. */
export const OUTBOX_WRITTEN = 'baton.outbox.written';
/** Rows written outside a tracked transaction: the next kick drains whatever it is told. */
let untracked = false;

function written(m: EntityManager): void {
  if (!notifyAfterCommitOf(m, OUTBOX_WRITTEN)) untracked = true;
}

/** The event's headers; without any, the active span's trace context (Kafka headers carry it on). */
function headersOf(e: OutgoingEvent): string | null {
  const h = e.headers ?? traceHeaders();
  return h ? JSON.stringify(h) : null;
}

export async function enqueueEvent(m: EntityManager, e: OutgoingEvent): Promise<string> {
  written(m);
  const id = newId();
  await m.insert(OutboxEntity, {
    id,
    topic: e.topic,
    type: e.type,
    key: e.key,
    tenantId: e.tenantId,
    payload: JSON.stringify(e.payload),
    headers: headersOf(e),
    createdAt: Date.now(),
    publishedAt: null,
  });
  return id;
}

/** Several events in one multi-row insert (hot paths that create many runs at once). */
export async function enqueueEvents(m: EntityManager, events: readonly OutgoingEvent[]): Promise<void> {
  if (events.length === 0) return;
  written(m);
  const now = Date.now();
  const rows = events.map((e) => ({
    id: newId(now),
    topic: e.topic,
    type: e.type,
    key: e.key,
    tenantId: e.tenantId,
    payload: JSON.stringify(e.payload),
    headers: headersOf(e),
    createdAt: now,
    publishedAt: null,
  }));
  for (let i = 0; i < rows.length; i += 500) await m.insert(OutboxEntity, rows.slice(i, i + 500));
}

function toEvent(r: OutboxEntity): BusEvent {
  return {
    id: r.id,
    topic: r.topic,
    type: r.type,
    key: r.key,
    tenantId: r.tenantId,
    payload: JSON.parse(r.payload) as unknown,
    headers: r.headers ? (JSON.parse(r.headers) as Record<string, string>) : {},
    occurredAt: r.createdAt,
  };
}

export interface RelayLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Publishes committed outbox rows in order. Woken right after a commit of
 * this process that wrote outbox rows (`kick()` after other commits costs
 * nothing); the interval is only the safety net (e.g. after a crash between
 * commit and publish, or rows another process left).
 */
export class OutboxRelay {
  private readonly drainer: Drainer;
  /** Rows of this process may wait: set by a commit that wrote some, cleared when a drain starts. */
  private dirty = true;
  private unlisten: () => void = () => undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: EventBus,
    logger: RelayLogger,
    private readonly opts: { batch?: number; safetyIntervalMs?: number } = {},
  ) {
    this.drainer = new Drainer(() => this.drain(), {
      intervalMs: opts.safetyIntervalMs ?? 2_000,
      onError: (err, failures) => logger.warn('outbox relay failed; will retry', { error: String(err), failures }),
    });
  }

  start(): void {
    this.unlisten = this.db.listen(OUTBOX_WRITTEN, () => {
      this.dirty = true;
      this.drainer.kick();
    });
    this.drainer.start();
  }

  stop(): Promise<void> {
    this.unlisten();
    return this.drainer.stop();
  }

  /** Drains now if a commit of this process wrote rows not drained yet (the safety interval does the rest). */
  kick(): void {
    if (this.dirty || untracked) this.drainer.kick();
  }

  /**
   * On MySQL several replicas relay at once: each claims rows with SKIP
   * LOCKED inside a transaction, publishes them and marks them published
   * before committing, so a row is published by one replica only.
   */
  private async drainLocked(): Promise<void> {
    const batch = this.opts.batch ?? 200;
    for (;;) {
      const n = await this.db.tx(async (m) => {
        const rows = await m
          .createQueryBuilder(OutboxEntity, 'o')
          .where('o.published_at IS NULL')
          .orderBy('o.seq', 'ASC')
          .limit(batch)
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getMany();
        if (rows.length === 0) return 0;
        await this.bus.publish(rows.map(toEvent));
        await m
          .createQueryBuilder()
          .update(OutboxEntity)
          .set({ publishedAt: Date.now() })
          .whereInIds(rows.map((r) => r.seq))
          .execute();
        return rows.length;
      });
      if (n < batch) return;
    }
  }

  private async drain(): Promise<void> {
    this.dirty = false;
    untracked = false;
    if (this.db.dialect === 'mysql') return this.drainLocked();
    const batch = this.opts.batch ?? 200;
    for (;;) {
      const rows = await this.db.manager
        .createQueryBuilder(OutboxEntity, 'o')
        .where('o.published_at IS NULL')
        .orderBy('o.seq', 'ASC')
        .limit(batch)
        .getMany();
      if (rows.length === 0) return;
      await this.bus.publish(rows.map(toEvent));
      await this.db.tx((m) =>
        m
          .createQueryBuilder()
          .update(OutboxEntity)
          .set({ publishedAt: Date.now() })
          .whereInIds(rows.map((r) => r.seq))
          .execute(),
      );
      if (rows.length < batch) return;
    }
  }
}

/**
 * Runs `effect` once per (consumer, event id): the processed-event row and the
 * effect commit together, so a redelivered event is skipped.
 */
export async function consumeOnce(
  db: Database,
  consumer: string,
  event: BusEvent,
  effect: (m: EntityManager) => Promise<void>,
): Promise<boolean> {
  return db.tx(async (m) => {
    try {
      await m.insert(ProcessedEventEntity, { consumer, eventId: event.id, processedAt: Date.now() });
    } catch (err) {
      // Seen before: nothing to do. (A failed statement leaves the MySQL and SQLite transaction usable.)
      if (isUniqueViolation(err)) return false;
      throw err;
    }
    // Errors of the effect itself, a unique violation included, roll back and redeliver.
    await effect(m);
    return true;
  });
}

/**
 * `consumeOnce` for a batch: one transaction records the events not seen
 * before and applies their effect; redelivered ones are left out.
 */
export async function consumeOnceBatch(
  db: Database,
  consumer: string,
  events: readonly BusEvent[],
  effect: (m: EntityManager, fresh: BusEvent[]) => Promise<void>,
): Promise<number> {
  if (events.length === 0) return 0;
  return db.tx(async (m) => {
    const ids = [...new Set(events.map((e) => e.id))];
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await m.find(ProcessedEventEntity, {
        where: { consumer, eventId: In(ids.slice(i, i + 500)) },
        select: { eventId: true },
      });
      for (const r of rows) seen.add(r.eventId);
    }
    const fresh: BusEvent[] = [];
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      fresh.push(e);
    }
    const now = Date.now();
    for (let i = 0; i < fresh.length; i += 500) {
      await m.insert(
        ProcessedEventEntity,
        fresh.slice(i, i + 500).map((e) => ({ consumer, eventId: e.id, processedAt: now })),
      );
    }
    if (fresh.length > 0) await effect(m, fresh);
    return fresh.length;
  });
}

/** What every service sends to the audit topic; the audit service chains and stores it. */
export interface AuditRecord {
  tenantId: string;
  action: string;
  actor: string;
  target: string;
  status: number;
  detail: Record<string, unknown>;
  occurredAt: number;
}

/** Writes an audit record in the caller's transaction (it reaches the audit topic through the outbox). */
export function enqueueAudit(m: EntityManager, rec: AuditRecord): Promise<string> {
  return enqueueEvent(m, {
    topic: topic('audit'),
    type: 'audit.recorded',
    key: rec.tenantId,
    tenantId: rec.tenantId,
    payload: rec,
  });
}
