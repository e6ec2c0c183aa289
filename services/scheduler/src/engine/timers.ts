import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { In } from 'typeorm';
import {
  AgentEntity,
  Database,
  TransitionStore,
  claimDueRetries,
  findExpiredLeases,
  findOverdueOffers,
  findPastDeadlines,
  scopedTo,
} from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { AgentDirectory } from './agents.js';
import { AgentCommands } from './agent-commands.js';
import { ACK_GRACE_MS, Alarm } from './alarm.js';
import { Dispatcher } from './dispatcher.js';

const BATCH = 200;
/** The pulse of the process, to notice that it stood still (see `stalled`). */
const PULSE_MS = 250;

/**
 * Time-driven transitions: ACK timeouts (back to the queue, no try used),
 * expired leases (`lost`, then the retry policy), server deadlines and due
 * retries. The verdicts go through the same batched queue as agents' ACKs and
 * results (AgentCommands), so an ACK already received is applied before an
 * expiry and a burst of lost attempts costs one transaction, not one each.
 * Known due times arm the alarm; the interval is the safety net.
 */
@Injectable()
export class Timers implements OnApplicationBootstrap, OnApplicationShutdown {
  private interval: NodeJS.Timeout | null = null;
  /** The process's own pulse: a gap in it means this process was stalled (frozen host, SIGSTOP, a long GC). */
  private pulse: NodeJS.Timeout | null = null;
  private lastPulse = Date.now();
  /** Until then no offer expires: ACKs that arrived during a stall of this process are read first. */
  private stalledUntil = 0;
  private running = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly transitions: TransitionStore,
    private readonly commands: AgentCommands,
    private readonly dispatcher: Dispatcher,
    private readonly sessions: AgentDirectory,
    private readonly alarm: Alarm,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('timers');
  }

  onApplicationBootstrap(): void {
    this.alarm.onFire(() => void this.sweep());
    this.interval = setInterval(() => void this.sweep(), this.config.scheduler.sweepIntervalMs);
    this.pulse = setInterval(() => {
      this.stalled();
      this.lastPulse = Date.now();
    }, PULSE_MS);
    this.pulse.unref();
  }

  /**
   * Whether this process stood still lately: its pulse missed more than
   * ACK_GRACE_MS. Offers then wait ACK_GRACE_MS more (an alarm brings the
   * sweep back), so ACKs that arrived meanwhile are read before any expires.
   */
  private stalled(now = Date.now()): boolean {
    if (now - this.lastPulse > PULSE_MS + ACK_GRACE_MS && now >= this.stalledUntil) {
      this.stalledUntil = now + ACK_GRACE_MS;
      this.alarm.at(this.stalledUntil);
    }
    return now < this.stalledUntil;
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.pulse) clearInterval(this.pulse);
  }

  async sweep(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const [requeued, lost, late, due] = await Promise.all([
        this.expireAcks(),
        this.expireLeases(),
        this.enforceDeadlines(),
        this.promoteRetries(),
      ]);
      if (requeued + due + lost + late > 0) this.relay.kick();
      // The safety net under the push-driven wake-ups: a free slot never waits longer than one sweep.
      if (requeued + due + lost + late > 0 || this.sessions.withFreeSlots().length > 0) this.dispatcher.kick();
    } catch (err) {
      this.log.error('sweep failed', { error: err instanceof Error ? err.stack : String(err) });
    } finally {
      this.running = false;
    }
  }

  /**
   * Offers not acknowledged in time go back to the queue without using a try.
   * An offer made through another replica's live session is that replica's to
   * expire (it may hold the ACK unread), unless it stayed overdue for another
   * ACK timeout: then that replica is gone.
   */
  private async expireAcks(): Promise<number> {
    const now = Date.now();
    const cutoff = now - ACK_GRACE_MS;
    const rows = await findOverdueOffers(this.db.manager, cutoff, BATCH);
    // Deadlines that passed while this process stood still are not the agents' fault: their ACKs may be
    // waiting unread in the sockets.
    if (rows.length === 0 || this.stalled()) return 0;
    const elsewhere = rows.filter((a) => !this.sessions.has(a.sessionId));
    const liveSessions = new Set<string>();
    if (elsewhere.length > 0) {
      const agents = await scopedTo(
        this.db.manager,
        elsewhere.map((a) => a.tenantId),
      ).find(AgentEntity, {
        where: { id: In([...new Set(elsewhere.map((a) => a.agentId))]) },
        select: { id: true, sessionId: true, status: true },
      });
      for (const a of agents) if (a.status === 'connected' && a.sessionId) liveSessions.add(a.sessionId);
    }
    const overdue = cutoff - this.config.scheduler.ackTimeoutMs;
    const mine = rows.filter(
      (a) => this.sessions.has(a.sessionId) || !liveSessions.has(a.sessionId) || (a.expiresAt ?? 0) <= overdue,
    );
    const expired = await Promise.all(
      mine.map((a) => this.commands.expire({ attemptId: a.id, taskRunId: a.taskRunId, tenantId: a.tenantId })),
    );
    let n = 0;
    expired.forEach((ok, i) => {
      if (!ok) return;
      n++;
      this.log.warn('assignment not acknowledged; re-queued', { attemptId: mine[i]!.id });
    });
    return n;
  }

  /** Attempts whose lease ran out are `lost`; the retry policy decides what follows. */
  private async expireLeases(): Promise<number> {
    const now = Date.now();
    const rows = await findExpiredLeases(this.db.manager, now, BATCH);
    const lost = await Promise.all(
      rows.map((a) =>
        this.commands.finish(a, {
          state: 'lost',
          exitCode: null,
          error: 'lease expired: agent stopped reporting',
          output: null,
          at: now,
        }),
      ),
    );
    lost.forEach((ok, i) => {
      const a = rows[i]!;
      if (ok) this.log.warn('attempt lost', { attemptId: a.id, task: a.taskKey, runId: a.runId });
    });
    return rows.length;
  }

  /**
   * The server's own timeout: an attempt still running past its deadline
   * (timeout plus kill grace) is `timed_out` even if its agent never says so,
   * and the agent is told to stop it.
   */
  private async enforceDeadlines(): Promise<number> {
    const now = Date.now();
    const rows = await findPastDeadlines(this.db.manager, now, BATCH);
    await Promise.all(
      rows.map(async (a) => {
        const agent = this.sessions.ownerOf(a.id);
        const ok = await this.commands.finish(a, {
          state: 'timed_out',
          exitCode: null,
          error: 'deadline exceeded: the agent did not report the timeout in time',
          output: null,
          at: now,
        });
        agent?.send({ msg: { $case: 'cancel', value: { attemptId: a.id, reason: 'deadline exceeded' } } });
        if (ok) this.log.warn('attempt timed out (server deadline)', { attemptId: a.id, task: a.taskKey });
      }),
    );
    return rows.length;
  }

  /** Retries whose backoff elapsed go back to the queue, in one statement per batch. */
  private async promoteRetries(): Promise<number> {
    const now = Date.now();
    return this.db.tx(async (m) => {
      const rows = await claimDueRetries(this.db, m, now, BATCH);
      if (rows.length === 0) return 0;
      // One move per tenant: the store writes within a tenant's scope only.
      const byTenant = new Map<string, string[]>();
      for (const t of rows) byTenant.set(t.tenantId, [...(byTenant.get(t.tenantId) ?? []), t.id]);
      let n = 0;
      for (const [tenantId, ids] of byTenant) {
        n += await this.transitions.tasks(m, { tenantId }, { ids }, ['up_for_retry'], 'queued', { updatedAt: now });
      }
      return n;
    });
  }
}
