import { Inject, Injectable } from '@nestjs/common';
import { BATON_CONFIG, type BatonConfig } from '@baton/config';
import { MISSED_HEARTBEATS_UNHEALTHY } from '@baton/domain';
import { AgentDirectory, type AgentLink } from '../engine/agents.js';

/** One connected agent stream on this replica. */
export interface AgentSession extends AgentLink {
  readonly tokenId: string;
  close(code: number, reason: string): void;
}

/** The agent sessions this replica holds; the dispatcher places work on them. */
@Injectable()
export class SessionRegistry extends AgentDirectory {
  private readonly sessions = new Map<string, AgentSession>();
  private generationCount = 0;
  private readonly byAttempt = new Map<string, AgentSession>();
  private readonly requests = new Map<string, { cpu: number; memory: number }>();

  constructor(@Inject(BATON_CONFIG) private readonly config: BatonConfig) {
    super();
  }

  add(s: AgentSession): void {
    this.generationCount++;
    this.sessions.set(s.id, s);
    for (const a of s.inFlight) this.byAttempt.set(a, s);
  }

  remove(s: AgentSession): void {
    this.generationCount++;
    this.sessions.delete(s.id);
    for (const a of s.inFlight) {
      if (this.byAttempt.get(a) === s) this.byAttempt.delete(a);
      this.requests.delete(a);
    }
  }

  generation(): number {
    return this.generationCount;
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  has(sessionId: string | null): boolean {
    return sessionId !== null && this.sessions.has(sessionId);
  }

  /**
   * A stream can stay open while its agent is frozen or the connection is
   * half-open: an agent silent for a few heartbeat intervals is unhealthy.
   */
  healthy(s: AgentSession, now = Date.now()): boolean {
    return now - s.lastSeenAt <= this.config.scheduler.heartbeatIntervalMs * MISSED_HEARTBEATS_UNHEALTHY;
  }

  /** Healthy sessions with a free slot: where new work may go. */
  withFreeSlots(now = Date.now()): AgentSession[] {
    return this.all().filter((s) => s.inFlight.size < s.slots && this.healthy(s, now));
  }

  track(s: AgentSession, attemptId: string, cpu = 0, memory = 0): void {
    s.inFlight.add(attemptId);
    this.byAttempt.set(attemptId, s);
    if (cpu > 0 || memory > 0) {
      this.requests.set(attemptId, { cpu, memory });
      s.usedCpu += cpu;
      s.usedMemory += memory;
    }
  }

  release(attemptId: string): AgentSession | undefined {
    const s = this.byAttempt.get(attemptId);
    if (s) {
      s.inFlight.delete(attemptId);
      this.byAttempt.delete(attemptId);
      const r = this.requests.get(attemptId);
      if (r) {
        this.requests.delete(attemptId);
        s.usedCpu -= r.cpu;
        s.usedMemory -= r.memory;
      }
    }
    return s;
  }

  ownerOf(attemptId: string): AgentSession | undefined {
    return this.byAttempt.get(attemptId);
  }
}
