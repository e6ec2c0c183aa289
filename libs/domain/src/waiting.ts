import { labelsMatch } from './matching.js';
import { type QuotaLimits, type TaskQuotaUse, quotaResources, taskQuotaRefusal } from './quotas.js';
import type { RunState, TaskState } from './task-state.js';

/**
 * Why a task that is not running is still waiting: the question users of
 * every scheduler ask most ("why is my task still queued?"). Decided from what
 * the dispatcher checks; when several hold, the one that does not clear by
 * itself (no agent can take it) is named first.
 */
export type WaitingReason =
  | 'scheduled'
  | 'upstream'
  | 'retry_backoff'
  | 'job_max_active_runs'
  | 'tenant_quota'
  | 'run_max_active_tasks'
  | 'pool_full'
  | 'no_matching_agent'
  | 'agents_full'
  | 'fair_share'
  | 'dispatching';

/** Heartbeat intervals an agent may miss before it is unhealthy and gets no new work. */
export const MISSED_HEARTBEATS_UNHEALTHY = 3;

/**
 * Whether an agent last heard from at `lastSeenAt` is still healthy, judged
 * from stored presence (written every few seconds, hence `presenceLagMs`).
 */
export function presenceHealthy(
  lastSeenAt: number | null,
  now: number,
  heartbeatIntervalMs: number,
  presenceLagMs = 5_000,
): boolean {
  return lastSeenAt !== null && now - lastSeenAt <= heartbeatIntervalMs * MISSED_HEARTBEATS_UNHEALTHY + presenceLagMs;
}

export const WAITING_REASONS: readonly WaitingReason[] = [
  'scheduled',
  'upstream',
  'retry_backoff',
  'job_max_active_runs',
  'tenant_quota',
  'run_max_active_tasks',
  'pool_full',
  'no_matching_agent',
  'agents_full',
  'fair_share',
  'dispatching',
];

/** How long a batch that held a tenant back at its fair share explains its queued tasks (`fair_share`). */
export const FAIR_SHARE_MEMORY_MS = 5_000;

export interface AgentView {
  readonly labels: Readonly<Record<string, string>>;
  readonly slots: number;
  /** Attempts assigned to or running on it. */
  readonly used: number;
  /** Connected and heard from within a few heartbeat intervals. */
  readonly healthy: boolean;
  /** Advertised capacity; 0 means not limited. */
  readonly cpuMillis: number;
  readonly memoryMb: number;
}

export interface WaitContext {
  readonly runState: RunState;
  /** A scheduled run's slot (its logical date): it starts then. */
  readonly runScheduledFor?: number;
  /** Tasks of the run assigned or running now, and the run's limit. */
  readonly runActiveTasks: number;
  readonly maxActiveTasks: number | null;
  /** Tasks of the tenant assigned or running now, and its quota. */
  readonly tenantRunningTasks: number;
  readonly tenantMaxRunningTasks: number | null;
  /** The tenant's CPU and memory quotas with what its tasks hold now, when either is set. */
  readonly tenantResources?: {
    readonly limits: Pick<QuotaLimits, 'maxCpuMillis' | 'maxMemoryMb'>;
    readonly use: Pick<TaskQuotaUse, 'cpuMillis' | 'memoryMb'>;
  };
  /** A queued run waits for its tenant's maxConcurrentRuns rather than its job's turn. */
  readonly runQueuedByTenant?: boolean;
  readonly agents: readonly AgentView[];
  /** The tenant's pools: their slots and the slots taken by tasks assigned or running. */
  readonly pools: ReadonlyMap<string, { readonly slots: number; readonly used: number }>;
  /**
   * The dispatcher left this tenant's claimable tasks for a later batch,
   * because the batch went to other tenants' shares, within the last
   * FAIR_SHARE_MEMORY_MS (as the replica answering knows it).
   */
  readonly heldAtShare: boolean;
}

export interface WaitingTask {
  readonly state: TaskState;
  readonly readyAt: number | null;
  readonly agentSelector: Readonly<Record<string, string>>;
  readonly cpuMillis: number;
  readonly memoryMb: number;
  readonly pool: string | null;
  readonly poolSlots: number;
}

export interface Waiting {
  readonly reason: WaitingReason;
  /** When the wait ends by itself (a retry's due time), if known. */
  readonly until: number | null;
}

const fits = (a: AgentView, t: WaitingTask) =>
  labelsMatch(t.agentSelector, a.labels) &&
  (a.cpuMillis === 0 || t.cpuMillis <= a.cpuMillis) &&
  (a.memoryMb === 0 || t.memoryMb <= a.memoryMb);

/** Whether a pool can take `slots` more now; a pool that does not exist has no slots. */
export function poolHasRoom(
  pool: { readonly slots: number; readonly used: number } | undefined,
  slots: number,
): boolean {
  return pool !== undefined && pool.used + slots <= pool.slots;
}

/** The reason a task waits, or null when it is not waiting (running, offered, or finished). */
export function waitingReason(task: WaitingTask, ctx: WaitContext): Waiting | null {
  // Created ahead of its time trigger's slot: every task waits for the slot.
  if (ctx.runState === 'scheduled') return { reason: 'scheduled', until: ctx.runScheduledFor ?? null };
  if (ctx.runState === 'queued') {
    return { reason: ctx.runQueuedByTenant ? 'tenant_quota' : 'job_max_active_runs', until: null };
  }
  if (ctx.runState !== 'running') return null;
  switch (task.state) {
    case 'pending':
      return { reason: 'upstream', until: null };
    case 'up_for_retry':
      return { reason: 'retry_backoff', until: task.readyAt };
    case 'queued':
      break;
    default:
      return null;
  }
  // No agent that could ever take it comes first: it is the one wait that does not end by itself.
  const matching = ctx.agents.filter((a) => a.healthy && fits(a, task));
  if (matching.length === 0) return { reason: 'no_matching_agent', until: null };
  if (ctx.tenantMaxRunningTasks !== null && ctx.tenantRunningTasks >= ctx.tenantMaxRunningTasks) {
    return { reason: 'tenant_quota', until: null };
  }
  if (
    ctx.tenantResources &&
    taskQuotaRefusal(
      { maxRunningTasks: null, ...ctx.tenantResources.limits },
      { tasks: 0, ...ctx.tenantResources.use },
      quotaResources(task),
    ) !== null
  ) {
    return { reason: 'tenant_quota', until: null };
  }
  if (ctx.maxActiveTasks !== null && ctx.runActiveTasks >= ctx.maxActiveTasks) {
    return { reason: 'run_max_active_tasks', until: null };
  }
  if (task.pool !== null && !poolHasRoom(ctx.pools.get(task.pool), task.poolSlots)) {
    return { reason: 'pool_full', until: null };
  }
  if (matching.every((a) => a.used >= a.slots)) return { reason: 'agents_full', until: null };
  // Nothing holds it: either the last batch went to other tenants' shares first, or it is being dispatched now.
  return { reason: ctx.heldAtShare ? 'fair_share' : 'dispatching', until: null };
}
