import type { ServerMessage } from '@baton/proto';

/**
 * An agent connection as the engine sees it: where work can be placed and
 * where messages about its attempts go. The gateway owns the streams and
 * implements this; the engine imports nothing from gateway/.
 */
export interface AgentLink {
  readonly id: string;
  readonly agentId: string;
  readonly tenantId: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly slots: number;
  /** Advertised capacity; 0 means not limited. */
  readonly cpuMillis: number;
  readonly memoryMb: number;
  /** Requests of the attempts in flight, for placement. */
  usedCpu: number;
  usedMemory: number;
  /** Attempts assigned to or running on the agent through this connection. */
  readonly inFlight: Set<string>;
  /** When the agent last said anything on this connection (epoch ms). */
  lastSeenAt: number;
  send(msg: ServerMessage): void;
}

/** The agent connections of this replica, and which attempts each holds. */
export abstract class AgentDirectory {
  abstract all(): AgentLink[];
  /** Changes whenever a connection is added or removed (what the connections offer may have changed). */
  abstract generation(): number;
  abstract has(connectionId: string | null): boolean;
  /** Heard from within a few heartbeat intervals: a frozen agent or a half-open connection is not. */
  abstract healthy(link: AgentLink, now?: number): boolean;
  /** Healthy connections with a free slot: where new work may go. */
  abstract withFreeSlots(now?: number): AgentLink[];
  abstract track(link: AgentLink, attemptId: string, cpu?: number, memory?: number): void;
  abstract release(attemptId: string): AgentLink | undefined;
  abstract ownerOf(attemptId: string): AgentLink | undefined;
}
