import type { EntityManager } from 'typeorm';
import type { Database } from './database.js';
import { AttemptEntity, RunEntity, RunRequestEntity, TaskRunEntity } from './entities/index.js';
import type { TenantScope } from './scope.js';

/*
 * The claim queries of the scheduler, with their dialect differences: on
 * MySQL/MariaDB a claim locks its rows `FOR UPDATE SKIP LOCKED` so replicas
 * claiming beside each other take different rows; SQLite has one writer and
 * needs no row locks. Each query matches an index of the migrations.
 */

interface Lockable<T> {
  setLock(mode: 'pessimistic_write'): T;
  setOnLocked(o: 'skip_locked'): T;
}

/** The rows a query reads stay locked until commit (`FOR UPDATE` on MySQL; SQLite's one writer needs nothing). */
export function forUpdate<T extends Lockable<T>>(db: Database, q: T): T {
  return db.dialect === 'mysql' ? q.setLock('pessimistic_write') : q;
}

/** A claim: rows locked by another transaction are passed over (`FOR UPDATE SKIP LOCKED` on MySQL). */
export function skipLocked<T extends Lockable<T>>(db: Database, q: T): T {
  return db.dialect === 'mysql' ? q.setLock('pessimistic_write').setOnLocked('skip_locked') : q;
}

/**
 * A tenant's tasks ready for an agent (queued, or a compensation without an
 * attempt), in its priority order, passing over `exclude` (tasks the caller
 * knows it cannot place, so they do not hide the ones behind them).
 */
export function claimQueuedTasks(
  db: Database,
  m: EntityManager,
  scope: TenantScope,
  limit: number,
  exclude: readonly string[] = [],
) {
  const q = m
    .createQueryBuilder(TaskRunEntity, 't')
    .where('t.tenant_id = :tenant', { tenant: scope.tenantId })
    .andWhere('t.state IN (:...s)', { s: ['queued', 'compensating'] })
    .andWhere('t.ready_at IS NOT NULL')
    .andWhere("(t.state = 'queued' OR t.current_attempt_id IS NULL)")
    .orderBy('t.priority', 'DESC')
    .addOrderBy('t.ready_at', 'ASC')
    .limit(limit);
  if (exclude.length > 0) q.andWhere('t.id NOT IN (:...exclude)', { exclude });
  return skipLocked(db, q).getMany();
}

/** Retries whose backoff has elapsed (locked: the caller moves them to queued in the same transaction). */
export function claimDueRetries(db: Database, m: EntityManager, now: number, limit: number) {
  const q = m
    .createQueryBuilder(TaskRunEntity, 't')
    .select(['t.id', 't.tenantId'])
    .where('t.state = :s', { s: 'up_for_retry' })
    .andWhere('t.ready_at <= :now', { now })
    .orderBy('t.ready_at', 'ASC')
    .limit(limit);
  return skipLocked(db, q).getMany();
}

/** Offers (assigned attempts) whose ACK deadline passed before `cutoff`. */
export function findOverdueOffers(m: EntityManager, cutoff: number, limit: number) {
  return m
    .createQueryBuilder(AttemptEntity, 'a')
    .select(['a.id', 'a.tenantId', 'a.taskRunId', 'a.agentId', 'a.sessionId', 'a.expiresAt'])
    .where('a.state = :s', { s: 'assigned' })
    .andWhere('a.expires_at <= :cutoff', { cutoff })
    .orderBy('a.expires_at', 'ASC')
    .limit(limit)
    .getMany();
}

/** Running attempts whose lease ran out. */
export function findExpiredLeases(m: EntityManager, now: number, limit: number) {
  return m
    .createQueryBuilder(AttemptEntity, 'a')
    .select(['a.id', 'a.tenantId', 'a.taskKey', 'a.runId'])
    .where('a.state = :s', { s: 'running' })
    .andWhere('a.expires_at <= :now', { now })
    .orderBy('a.expires_at', 'ASC')
    .limit(limit)
    .getMany();
}

/** Live attempts past the server's own deadline. */
export function findPastDeadlines(m: EntityManager, now: number, limit: number) {
  return m
    .createQueryBuilder(AttemptEntity, 'a')
    .select(['a.id', 'a.tenantId', 'a.taskKey'])
    .where('a.state IN (:...s)', { s: ['assigned', 'running'] })
    .andWhere('a.deadline_at <= :now', { now })
    .orderBy('a.deadline_at', 'ASC')
    .limit(limit)
    .getMany();
}

/** A run request that failed this often is set aside (kept, with its last error) instead of blocking the queue. */
export const RUN_REQUEST_MAX_FAILURES = 5;

/**
 * Run requests for this replica to turn into runs, oldest first (or the one
 * numbered `seq`); those another replica holds are passed over.
 */
export function claimRunRequests(db: Database, m: EntityManager, limit: number, seq?: string) {
  const q = m
    .createQueryBuilder(RunRequestEntity, 'r')
    .where('r.failures < :max', { max: RUN_REQUEST_MAX_FAILURES })
    // Requests a tenant's runs-per-minute quota holds back wait until their tokens are there.
    .andWhere('(r.not_before IS NULL OR r.not_before <= :now)', { now: Date.now() })
    .orderBy('r.seq', 'ASC')
    .limit(limit);
  if (seq !== undefined) q.andWhere('r.seq = :seq', { seq });
  return skipLocked(db, q).getMany();
}

/**
 * Runs created ahead of their slot whose slot has come, of every tenant, the
 * earliest first (locked: the caller starts them in the same transaction).
 */
export function claimDueScheduledRuns(db: Database, m: EntityManager, now: number, limit: number) {
  const q = m
    .createQueryBuilder(RunEntity, 'r')
    .where('r.state = :s', { s: 'scheduled' })
    .andWhere('r.logical_date <= :now', { now })
    .orderBy('r.logical_date', 'ASC')
    .limit(limit);
  return skipLocked(db, q).getMany();
}

/** When the earliest scheduled run is due (any tenant's), or null when none waits. */
export async function nextScheduledRunAt(m: EntityManager): Promise<number | null> {
  const rows = (await m.query(`SELECT MIN(logical_date) AS at FROM runs WHERE state = 'scheduled'`)) as Array<{
    at: number | string | null;
  }>;
  const at = rows[0]?.at;
  return at === null || at === undefined ? null : Number(at);
}
