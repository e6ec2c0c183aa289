import { Inject, Injectable } from '@nestjs/common';
import { AgentEntity, AttemptEntity, Database, TaskRunEntity } from '@baton/persistence';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { LOGGER, type Logger } from '@baton/telemetry';
import { type LogChunk, LogChunk_Stream, Result_Status } from '@baton/proto';
import { LogSink } from '../gateway/log-sink.js';
import { type AgentSession, SessionRegistry } from '../gateway/sessions.js';
import { Dispatcher } from './dispatcher.js';
import { type AttemptOutcome, type Effects, RunEngine } from './run-engine.js';
import { Timers } from './timers.js';

export interface ResultInput {
  attemptId: string;
  status: Result_Status;
  exitCode: number;
  output: string;
  error: string;
  finishedAt: number;
}

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

/** What the gateway does with each agent message. */
@Injectable()
export class AgentCommands {
  private readonly log: Logger;
  private lastSeenWrite = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly engine: RunEngine,
    private readonly dispatcher: Dispatcher,
    private readonly sessions: SessionRegistry,
    private readonly logs: LogSink,
    private readonly timers: Timers,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(BATON_CONFIG) private readonly config: BatonConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('scheduler');
  }

  /** The agent took the attempt: it is running and its lease starts. */
  async ack(s: AgentSession, attemptId: string): Promise<void> {
    const now = Date.now();
    await this.db.tx(async (m) => {
      const upd = await m
        .createQueryBuilder()
        .update(AttemptEntity)
        .set({ state: 'running', startedAt: now, expiresAt: now + this.config.scheduler.leaseTtlMs })
        .where('id = :id AND state = :s AND agent_id = :a', { id: attemptId, s: 'assigned', a: s.agentId })
        .execute();
      if ((upd.affected ?? 0) !== 1) return;
      await m
        .createQueryBuilder()
        .update(TaskRunEntity)
        .set({
          state: 'running',
          attemptsUsed: () => 'attempts_used + 1',
          startedAt: () => `COALESCE(started_at, ${now})`,
          updatedAt: now,
        })
        .where('current_attempt_id = :a AND state = :s', { a: attemptId, s: 'assigned' })
        .execute();
    });
  }

  /** Extends the leases of the attempts the agent names. */
  async heartbeat(s: AgentSession, running: readonly string[]): Promise<void> {
    const now = Date.now();
    await this.db.tx(async (m) => {
      if (running.length > 0) {
        await m
          .createQueryBuilder()
          .update(AttemptEntity)
          .set({ expiresAt: now + this.config.scheduler.leaseTtlMs })
          .where('id IN (:...ids) AND agent_id = :a AND state = :s', { ids: [...running], a: s.agentId, s: 'running' })
          .execute();
      }
      // Presence is informational; write it at most every few seconds.
      if (now - (this.lastSeenWrite.get(s.id) ?? 0) > 5_000) {
        this.lastSeenWrite.set(s.id, now);
        await m.update(AgentEntity, { id: s.agentId }, { lastSeenAt: now });
      }
    });
  }

  logChunk(s: AgentSession, c: LogChunk): void {
    this.logs.add(
      s.tenantId,
      c.attemptId,
      c.seq,
      c.stream === LogChunk_Stream.STDERR ? 'stderr' : 'stdout',
      Buffer.from(c.data),
    );
  }

  async result(s: AgentSession, r: ResultInput): Promise<void> {
    await this.logs.flush(r.attemptId);
    const state = outcomeOf(r.status);
    const fx = await this.db.tx((m) =>
      this.engine.finishAttempt(m, r.attemptId, {
        state,
        exitCode: state === 'succeeded' || state === 'failed' ? r.exitCode : null,
        error: r.error || null,
        output: r.output || null,
        at: Date.now(),
      }),
    );
    this.sessions.release(r.attemptId);
    if (fx.ignored)
      this.log.debug('result ignored (duplicate or superseded)', { attemptId: r.attemptId, agent: s.name });
    this.apply(fx, true);
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
