import type { EntityManager } from 'typeorm';
import { RunRequestEntity } from '@baton/persistence';
import { type RunRequested, topic } from './events.js';
import { type OutgoingEvent, enqueueEvents } from './outbox.js';

/**
 * Asks for runs in the caller's transaction. Each request is a row of
 * `run_requests`, which scheduler replicas claim (SKIP LOCKED), and a
 * `run.requested` event on the run-requests topic, which wakes them and tells
 * anyone else listening. The row, not the event, is the work: a replica that
 * dies holding requests releases them with its connection.
 */
export async function requestRuns(m: EntityManager, reqs: readonly RunRequested[]): Promise<void> {
  if (reqs.length === 0) return;
  const now = Date.now();
  const rows = reqs.map((r) => ({
    tenantId: r.tenantId,
    payload: JSON.stringify(r),
    createdAt: now,
    failures: 0,
    lastError: null,
  }));
  for (let i = 0; i < rows.length; i += 500) await m.insert(RunRequestEntity, rows.slice(i, i + 500));
  await enqueueEvents(
    m,
    reqs.map((r): OutgoingEvent<RunRequested> => ({
      topic: topic('run-requests'),
      type: 'run.requested',
      key: r.tenantId,
      tenantId: r.tenantId,
      payload: r,
    })),
  );
}
