import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AgentEntity, AttemptEntity, Database, TaskRunEntity } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { type LogChunk, LogChunk_Stream, Result_Status } from '@baton/proto';
import { LogSink } from '../gateway/log-sink.js';
import { type AgentSession, SessionRegistry } from '../gateway/sessions.js';
import { Dispatcher } from './dispatcher.js';
import { type AttemptOutcome, type Effects, RunEngine } from './run-engine.js';
import { SchedulerMetrics } from '../metrics/metrics.js';
import { Timers } from './timers.js';

export interface ResultInput {
  attemptId: string;
  status: Result_Status;
  exitCode: number;
  output: string;
  error: string;
  finishedAt: number;
}

type Command =
  | { kind: 'ack'; session: AgentSession; attemptId: string; done: () => void; fail: (e: unknown) => void }
  | { kind: 'result'; session: AgentSession; result: ResultInput; done: () => void; fail: (e: unknown) => void };

/** Commands applied in one transaction; more wait for the next one. */
const MAX_BATCH = 500;

function outcomeOf(s: Result_Status): AttemptOutcome {
  switch (s) {
    case Result_Status.SUCCEEDED:
      return 'succeeded';
    case Result_Status.TIMED_OUT:
      return 'timed_out';
    case Result_Status.CANCELLED:
      return 'cancelled';
    case Result_Status.FAILED:
    case Result_Status.STATUS_UNSPECIFIED:
    case Result_Status.UNRECOGNIZED:
      return 'failed';
    default: {
      const never: never = s;
      return never;
    }
  }
}

const chunks = <T>(xs: readonly T[], n = 500): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/**
 * What the gateway does with each agent message. Acks and results from every
 * stream are queued and applied in batches, one transaction per batch: the
 * cost of a commit is shared by everything that arrived meanwhile, and a run
 * whose tasks finish together is advanced once. Each caller's promise
 * resolves after the commit (a ResultAck is only sent for a stored result).
 */
@Injectable()
export class AgentCommands {
  private readonly log: Logger;
  private readonly lastSeenWrite = new WeakMap<AgentSession, number>();
  private queue: Command[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    private readonly sessions: SessionRegistry,
    private readonly logs: LogSink,
    private readonly timers: Timers,
    private readonly metrics: SchedulerMetrics,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('scheduler');
  }

  /** The agent took the attempt: it is running and its lease starts. */
  ack(session: AgentSession, attemptId: string): Promise<void> {
    return new Promise((done, fail) => this.enqueue({ kind: 'ack', session, attemptId, done, fail }));
  }

  result(session: AgentSession, result: ResultInput): Promise<void> {
    return new Promise((done, fail) => this.enqueue({ kind: 'result', session, result, done, fail }));
  }

  private enqueue(c: Command): void {
    this.queue.push(c);
    if (!this.flushing && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        // Log chunks that arrived before a result are stored before it.
        await this.logs.flush();
        try {
          const fx = await this.db.tx((m) => this.applyBatch(m, batch));
          const results = batch.filter((c) => c.kind === 'result');
          for (const c of results) {
            this.metrics.inc('baton_attempts_total', { outcome: outcomeOf(c.result.status) });
            this.sessions.release(c.result.attemptId);
            this.logs.forget(c.result.attemptId);
          }
          for (const c of batch) c.done();
          this.apply(fx, results.length > 0);
        } catch (err) {
          this.log.error('applying agent messages failed; agents will resend their results', {
            error: err instanceof Error ? err.stack : String(err),
            messages: batch.length,
          });
          for (const c of batch) c.fail(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async applyBatch(m: EntityManager, batch: readonly Command[]): Promise<Effects> {
    const now = Date.now();
    const acks = batch.filter((c) => c.kind === 'ack');
    if (acks.length > 0) {
      const byAgent = new Map<string, string[]>();
      for (const a of acks) byAgent.set(a.session.agentId, [...(byAgent.get(a.session.agentId) ?? []), a.attemptId]);
      for (const [agentId, ids] of byAgent) {
        for (const part of chunks(ids)) {
          await m
            .createQueryBuilder()
            .update(AttemptEntity)
            .set({ state: 'running', startedAt: now, expiresAt: now + this.config.scheduler.leaseTtlMs })
            .where('id IN (:...ids) AND state = :s AND agent_id = :a', { ids: part, s: 'assigned', a: agentId })
            .execute();
          // Only tasks whose current attempt is now running on this agent move (an ack names no one else's task).
          await m
            .createQueryBuilder()
            .update(TaskRunEntity)
            .set({
              state: 'running',
              attemptsUsed: () => 'attempts_used + 1',
              startedAt: () => `COALESCE(started_at, ${now})`,
              updatedAt: now,
            })
            .where('state = :s', { s: 'assigned' })
            .andWhere(
              "current_attempt_id IN (SELECT a.id FROM attempts a WHERE a.id IN (:...ids) AND a.agent_id = :a AND a.state = 'running')",
              { ids: part, a: agentId },
            )
            .execute();
        }
      }
    }
    const results = batch.filter((c) => c.kind === 'result');
    return this.engine.finishAttempts(
      m,
      results.map((c) => {
        const state = outcomeOf(c.result.status);
        return {
          attemptId: c.result.attemptId,
          agentId: c.session.agentId,
          result: {
            state,
            exitCode: state === 'succeeded' || state === 'failed' ? c.result.exitCode : null,
            error: c.result.error || null,
            output: c.result.output || null,
            at: now,
          },
        };
      }),
    );
  }

  /** Extends the leases of the attempts the agent names. */
  async heartbeat(s: AgentSession, running: readonly string[]): Promise<void> {
    const now = Date.now();
    const touch = now - (this.lastSeenWrite.get(s) ?? 0) > 5_000;
    if (running.length === 0 && !touch) return;
    await this.db.tx(async (m) => {
      for (const part of chunks(running)) {
        await m
          .createQueryBuilder()
          .update(AttemptEntity)
          .set({ expiresAt: now + this.config.scheduler.leaseTtlMs })
          .where('id IN (:...ids) AND agent_id = :a AND state = :s', { ids: part, a: s.agentId, s: 'running' })
          .execute();
      }
      // Presence is informational; write it at most every few seconds.
      if (touch) {
        this.lastSeenWrite.set(s, now);
        await m.update(AgentEntity, { id: s.agentId }, { lastSeenAt: now });
      }
    });
  }

  /** Attempts verified to belong to an agent, for log chunks of attempts not in flight here (sent after a reconnect). */
  private readonly owners = new Map<string, string>();

  logChunk(s: AgentSession, c: LogChunk): void {
    if (s.inFlight.has(c.attemptId) || this.owners.get(c.attemptId) === s.agentId) return this.storeChunk(s, c);
    // Not assigned through this session: accept it only for the agent's own attempt.
    void this.db.manager
      .findOne(AttemptEntity, { where: { id: c.attemptId, agentId: s.agentId }, select: { id: true } })
      .then((a) => {
        if (!a) return this.log.warn('log chunk for an attempt of another agent ignored', { agent: s.name });
        if (this.owners.size > 10_000) this.owners.clear();
        this.owners.set(c.attemptId, s.agentId);
        this.storeChunk(s, c);
      })
      .catch((err: unknown) => this.log.error('log chunk check failed', { error: String(err) }));
  }

  private storeChunk(s: AgentSession, c: LogChunk): void {
    this.logs.add(
      s.tenantId,
      c.attemptId,
      c.seq,
      c.stream === LogChunk_Stream.STDERR ? 'stderr' : 'stdout',
      Buffer.from(c.data),
    );
  }

  /** Wakes whoever the committed change concerns, and stops cancelled attempts on their agents. */
  apply(fx: Effects, slotFreed: boolean): void {
    this.relay.kick();
    if (fx.retryAt !== null) this.timers.at(fx.retryAt);
    for (const attemptId of fx.cancel) this.cancelOnAgent(attemptId, 'run cancelled');
    if (fx.queued || slotFreed || fx.cancel.length > 0) this.dispatcher.kick();
  }

  /** Sends Cancel to the agent running the attempt, if it is connected to this replica. */
  cancelOnAgent(attemptId: string, reason: string): void {
    const s = this.sessions.release(attemptId);
    s?.send({ msg: { $case: 'cancel', value: { attemptId, reason } } });
  }
}
