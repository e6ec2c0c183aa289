import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AttemptEntity, Database, TaskRunEntity } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { Dispatcher } from './dispatcher.js';
import { RunEngine } from './run-engine.js';
import { SessionRegistry } from '../gateway/sessions.js';

const BATCH = 200;

/**
 * Time-driven transitions: ack timeouts (back to the queue, no try used),
 * expired leases (`lost`, then the retry policy) and due retries. Known due
 * times arm a precise timer (`at`); the interval is the safety net.
 */
@Injectable()
export class Timers implements OnApplicationBootstrap, OnApplicationShutdown {
  private interval: NodeJS.Timeout | null = null;
  private precise: NodeJS.Timeout | null = null;
  private preciseAt = Infinity;
  private running = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    private readonly sessions: SessionRegistry,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('timers');
  }

  onApplicationBootstrap(): void {
    this.interval = setInterval(() => void this.sweep(), this.config.scheduler.sweepIntervalMs);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.precise) clearTimeout(this.precise);
  }

  /** Sweep at `when` (e.g. a retry's due time) rather than at the next interval. */
  at(when: number): void {
    if (this.stopped || when >= this.preciseAt) return;
    if (this.precise) clearTimeout(this.precise);
    this.preciseAt = when;
    this.precise = setTimeout(
      () => {
        this.preciseAt = Infinity;
        this.precise = null;
        void this.sweep();
      },
      Math.max(0, when - Date.now()) + 1,
    );
  }

  async sweep(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const requeued = await this.expireAcks();
      const lost = await this.expireLeases();
      const late = await this.enforceDeadlines();
      const due = await this.promoteRetries();
      if (requeued + due + lost + late > 0) this.relay.kick();
      // The safety net under the push-driven wake-ups: a free slot never waits longer than one sweep.
      if (requeued + due + lost + late > 0 || this.sessions.withFreeSlots().length > 0) this.dispatcher.kick();
    } catch (err) {
      this.log.error('sweep failed', { error: err instanceof Error ? err.stack : String(err) });
    } finally {
      this.running = false;
    }
  }

  private claim<E extends AttemptEntity | TaskRunEntity>(
    m: EntityManager,
    entity: new () => E,
    state: string,
    column: 'expires_at' | 'ready_at',
    now: number,
    lock: boolean,
  ): Promise<E[]> {
    const q = m
      .createQueryBuilder(entity, 'x')
      .where('x.state = :s', { s: state })
      .andWhere(`x.${column} <= :now`, { now })
      .orderBy(`x.${column}`, 'ASC')
      .limit(BATCH);
    if (lock && this.db.dialect === 'mysql') q.setLock('pessimistic_write').setOnLocked('skip_locked');
    return q.getMany();
  }

  /** Assignments not acknowledged in time go back to the queue without using a try. */
  private async expireAcks(): Promise<number> {
    const now = Date.now();
    const expired = await this.db.tx(async (m) => {
      const rows = await this.claim(m, AttemptEntity, 'assigned', 'expires_at', now, true);
      const done: string[] = [];
      for (const a of rows) {
        const upd = await m
          .createQueryBuilder()
          .update(AttemptEntity)
          .set({ state: 'expired', finishedAt: now, expiresAt: null, error: 'not acknowledged in time' })
          .where('id = :id AND state = :s', { id: a.id, s: 'assigned' })
          .execute();
        if ((upd.affected ?? 0) !== 1) continue;
        await m
          .createQueryBuilder()
          .update(TaskRunEntity)
          .set({ state: 'queued', currentAttemptId: null, updatedAt: now })
          .where('id = :id AND state = :s AND current_attempt_id = :a', { id: a.taskRunId, s: 'assigned', a: a.id })
          .execute();
        // A compensation keeps its state; it only loses the attempt.
        await m
          .createQueryBuilder()
          .update(TaskRunEntity)
          .set({ currentAttemptId: null, updatedAt: now })
          .where('id = :id AND state = :s AND current_attempt_id = :a', { id: a.taskRunId, s: 'compensating', a: a.id })
          .execute();
        done.push(a.id);
      }
      return done;
    });
    for (const id of expired) {
      this.sessions.release(id);
      this.log.warn('assignment not acknowledged; re-queued', { attemptId: id });
    }
    return expired.length;
  }

  /** Attempts whose lease ran out are `lost`; the retry policy decides what follows. */
  private async expireLeases(): Promise<number> {
    const now = Date.now();
    const rows = await this.claim(this.db.manager, AttemptEntity, 'running', 'expires_at', now, false);
    for (const a of rows) {
      const fx = await this.db.tx((m) =>
        this.engine.finishAttempt(m, a.id, {
          state: 'lost',
          exitCode: null,
          error: 'lease expired: agent stopped reporting',
          output: null,
          at: now,
        }),
      );
      this.sessions.release(a.id);
      if (!fx.ignored) this.log.warn('attempt lost', { attemptId: a.id, task: a.taskKey, runId: a.runId });
      if (fx.retryAt !== null) this.at(fx.retryAt);
    }
    return rows.length;
  }

  /**
   * The server's own timeout: an attempt still running past its deadline
   * (timeout plus kill grace) is `timed_out` even if its agent never says so,
   * and the agent is told to stop it.
   */
  private async enforceDeadlines(): Promise<number> {
    const now = Date.now();
    const rows = await this.db.manager
      .createQueryBuilder(AttemptEntity, 'a')
      .where('a.state IN (:...s)', { s: ['assigned', 'running'] })
      .andWhere('a.deadline_at <= :now', { now })
      .orderBy('a.deadline_at', 'ASC')
      .limit(BATCH)
      .getMany();
    for (const a of rows) {
      const fx = await this.db.tx((m) =>
        this.engine.finishAttempt(m, a.id, {
          state: 'timed_out',
          exitCode: null,
          error: 'deadline exceeded: the agent did not report the timeout in time',
          output: null,
          at: now,
        }),
      );
      const s = this.sessions.release(a.id);
      s?.send({ msg: { $case: 'cancel', value: { attemptId: a.id, reason: 'deadline exceeded' } } });
      if (!fx.ignored) this.log.warn('attempt timed out (server deadline)', { attemptId: a.id, task: a.taskKey });
      if (fx.retryAt !== null) this.at(fx.retryAt);
    }
    return rows.length;
  }

  private async promoteRetries(): Promise<number> {
    const now = Date.now();
    return this.db.tx(async (m) => {
      const rows = await this.claim(m, TaskRunEntity, 'up_for_retry', 'ready_at', now, true);
      let n = 0;
      for (const t of rows) {
        const upd = await m
          .createQueryBuilder()
          .update(TaskRunEntity)
          .set({ state: 'queued', updatedAt: now })
          .where('id = :id AND state = :s', { id: t.id, s: 'up_for_retry' })
          .execute();
        n += upd.affected ?? 0;
      }
      return n;
    });
  }
}
