import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { MAX_PLAIN_DEDUPE_KEY, type TriggerDefinition } from '@baton/domain';
import { type Database, TriggerDeliveryEntity, type TriggerEntity, newId, scoped } from '@baton/persistence';
import { type RunRequested, requestRuns } from '@baton/bus';
import { currentTraceparent, isTraceparent } from '@baton/telemetry';

/** Keeps a dedupe key within the runs' column: long keys keep their prefix and end in a hash of the whole. */
export function boundedDedupeKey(key: string): string {
  if (key.length <= MAX_PLAIN_DEDUPE_KEY) return key;
  return `${key.slice(0, 80)}#${createHash('sha256').update(key).digest('hex')}`;
}

export interface EventRunRequest {
  dedupeKey: string;
  /** Null: now (kept strictly increasing per trigger, so each delivery has its own slot in the ledger). */
  logicalDate: number | null;
  params: Record<string, unknown>;
  /** The trace context the delivery came with (a Kafka record's or a webhook call's `traceparent`). */
  traceparent?: string | null;
}

/**
 * Asks for a run of the trigger's job in the caller's transaction, once per
 * (tenant, dedupe key): the delivery row and the run request commit
 * together. Returns false when the key was delivered before.
 */
export async function requestEventRun(
  db: Database,
  m: EntityManager,
  t: TriggerEntity,
  spec: TriggerDefinition,
  req: EventRunRequest,
): Promise<{ requested: boolean; dedupeKey: string; logicalDate: number }> {
  const dedupeKey = boundedDedupeKey(req.dedupeKey);
  const seen = await scoped(m, t).findOne(TriggerDeliveryEntity, { where: { dedupeKey } });
  if (seen) return { requested: false, dedupeKey, logicalDate: seen.logicalDate };
  const now = Date.now();
  let logicalDate = req.logicalDate;
  if (logicalDate === null) {
    // The slot ledger is unique per (trigger, logical date): two deliveries in one millisecond must not share one.
    await m.query(
      'UPDATE triggers SET last_fire_at = CASE WHEN last_fire_at IS NULL OR last_fire_at < ? THEN ? ELSE last_fire_at + 1 END WHERE id = ?',
      [now, now, t.id],
    );
    const rows = (await m.query('SELECT last_fire_at AS d FROM triggers WHERE id = ?', [t.id])) as Array<{
      d: string | number;
    }>;
    logicalDate = rows[0] ? Number(rows[0].d) : now;
  }
  await scoped(m, t).insert(TriggerDeliveryEntity, {
    id: newId(now),
    tenantId: t.tenantId,
    triggerId: t.id,
    dedupeKey,
    logicalDate,
    receivedAt: now,
  });
  const payload: RunRequested = {
    tenantId: t.tenantId,
    jobId: t.jobId,
    jobName: t.jobName,
    logicalDate,
    dedupeKey,
    triggerType: spec.type,
    triggerId: t.id,
    params: req.params,
    overlap: spec.overlap,
    // The webhook call's or event's span is the run's parent; with tracing off, the context the delivery carried.
    traceparent: currentTraceparent() ?? (isTraceparent(req.traceparent) ? req.traceparent : undefined),
  };
  await requestRuns(db, m, [payload]);
  return { requested: true, dedupeKey, logicalDate };
}
