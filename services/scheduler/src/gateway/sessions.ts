import { Injectable } from '@nestjs/common';
import type { ServerMessage } from '@baton/proto';

/** One connected agent stream on this replica. */
export interface AgentSession {
  readonly id: string;
  readonly agentId: string;
  readonly tenantId: string;
  readonly tokenId: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly slots: number;
  /** Advertised capacity; 0 means not limited. */
  readonly cpuMillis: number;
  readonly memoryMb: number;
  /** Requests of the attempts in flight, for placement. */
  usedCpu: number;
  usedMemory: number;
  /** Attempts assigned to or running on the agent through this session. */
  readonly inFlight: Set<string>;
  send(msg: ServerMessage): void;
  close(code: number, reason: string): void;
}

/** The agent sessions this replica holds; the dispatcher places work on them. */
@Injectable()
export class SessionRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly byAttempt = new Map<string, AgentSession>();
  private readonly requests = new Map<string, { cpu: number; memory: number }>();

  add(s: AgentSession): void {
    this.sessions.set(s.id, s);
    for (const a of s.inFlight) this.byAttempt.set(a, s);
  }

  remove(s: AgentSession): void {
    this.sessions.delete(s.id);
    for (const a of s.inFlight) {
      if (this.byAttempt.get(a) === s) this.byAttempt.delete(a);
      this.requests.delete(a);
    }
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  withFreeSlots(): AgentSession[] {
    return this.all().filter((s) => s.inFlight.size < s.slots);
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
