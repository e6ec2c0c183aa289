import type { EntityManager } from 'typeorm';
import { type Database, RunRequestEntity } from '@baton/persistence';
import { type RunRequested, topic } from './events.js';
import { type OutgoingEvent, enqueueEvents } from './outbox.js';

/** The in-process signal (`Database.listen`) of new run requests. */
export const RUN_REQUESTS_SIGNAL = 'run-requests';

/**
 * Asks for runs in the caller's transaction. Each request is a row of
 * `run_requests`, which scheduler replicas claim (SKIP LOCKED), and a
 * `run.requested` event on the run-requests topic, which wakes them and tells
 * anyone else listening. The row, not the event, is the work: a replica that
 * dies holding requests releases them with its connection. A scheduler in
 * the same process is woken right after commit (`RUN_REQUESTS_SIGNAL`).
 */
export async function requestRuns(db: Database, m: EntityManager, reqs: readonly RunRequested[]): Promise<void> {
  if (reqs.length === 0) return;
  const now = Date.now();
  const rows = reqs.map((r) => ({
    tenantId: r.tenantId,
    payload: JSON.stringify(r),
    createdAt: now,
    failures: 0,
    lastError: null,
  }));
  // across tenants: the queue of run requests is one for every tenant (claimed by seq, SKIP LOCKED)
  for (let i = 0; i < rows.length; i += 500) await m.insert(RunRequestEntity, rows.slice(i, i + 500));
  db.notifyAfterCommit(m, RUN_REQUESTS_SIGNAL);
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
