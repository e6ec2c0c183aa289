import { describe, expect, it } from 'vitest';
import { type AgentView, type WaitContext, type WaitingTask, presenceHealthy, waitingReason } from './waiting.js';

const agent = (over: Partial<AgentView> = {}): AgentView => ({
  labels: { zone: 'eu' },
  slots: 2,
  used: 0,
  healthy: true,
  cpuMillis: 0,
  memoryMb: 0,
  ...over,
});
const ctx = (over: Partial<WaitContext> = {}): WaitContext => ({
  runState: 'running',
  runActiveTasks: 0,
  maxActiveTasks: null,
  tenantRunningTasks: 0,
  tenantMaxRunningTasks: null,
  agents: [agent()],
  pools: new Map([
    ['etl', { slots: 2, used: 2 }],
    ['big', { slots: 4, used: 1 }],
  ]),
  heldAtShare: false,
  ...over,
});
const task = (over: Partial<WaitingTask> = {}): WaitingTask => ({
  state: 'queued',
  readyAt: 1_000,
  agentSelector: {},
  cpuMillis: 0,
  memoryMb: 0,
  pool: null,
  poolSlots: 1,
  ...over,
});

describe('waitingReason', () => {
  it.each<[string, Partial<WaitingTask>, Partial<WaitContext>, string | null, number | null]>([
    ['running tasks do not wait', { state: 'running' }, {}, null, null],
    ['offered tasks do not wait', { state: 'assigned' }, {}, null, null],
    ['finished tasks do not wait', { state: 'succeeded' }, {}, null, null],
    ['a pending task waits for upstream', { state: 'pending' }, {}, 'upstream', null],
    [
      'a retry waits for its backoff, with its due time',
      { state: 'up_for_retry', readyAt: 5_000 },
      {},
      'retry_backoff',
      5_000,
    ],
    ['a run waiting its turn', { state: 'pending' }, { runState: 'queued' }, 'job_max_active_runs', null],
    [
      'a run created ahead of its slot waits for it',
      { state: 'pending' },
      { runState: 'scheduled', runScheduledFor: 9_000 },
      'scheduled',
      9_000,
    ],
    ['tenant quota reached', {}, { tenantRunningTasks: 3, tenantMaxRunningTasks: 3 }, 'tenant_quota', null],
    [
      "the tenant's CPU quota is held",
      { cpuMillis: 500 },
      { tenantResources: { limits: { maxCpuMillis: 1000, maxMemoryMb: null }, use: { cpuMillis: 600, memoryMb: 0 } } },
      'tenant_quota',
      null,
    ],
    [
      "a task declaring nothing counts the default memory against the tenant's quota",
      {},
      { tenantResources: { limits: { maxCpuMillis: null, maxMemoryMb: 200 }, use: { cpuMillis: 0, memoryMb: 100 } } },
      'tenant_quota',
      null,
    ],
    [
      "room under the tenant's CPU and memory quotas",
      { cpuMillis: 100, memoryMb: 100 },
      { tenantResources: { limits: { maxCpuMillis: 1000, maxMemoryMb: 1000 }, use: { cpuMillis: 0, memoryMb: 0 } } },
      'dispatching',
      null,
    ],
    [
      "a run waiting for the tenant's maxConcurrentRuns",
      { state: 'pending' },
      { runState: 'queued', runQueuedByTenant: true },
      'tenant_quota',
      null,
    ],
    ['run limit reached', {}, { runActiveTasks: 2, maxActiveTasks: 2 }, 'run_max_active_tasks', null],
    ['no agent has the labels', { agentSelector: { zone: 'us' } }, {}, 'no_matching_agent', null],
    ['the only matching agent is unhealthy', {}, { agents: [agent({ healthy: false })] }, 'no_matching_agent', null],
    ['no agent is big enough', { memoryMb: 4096 }, { agents: [agent({ memoryMb: 1024 })] }, 'no_matching_agent', null],
    ['its pool is full', { pool: 'etl' }, {}, 'pool_full', null],
    ['its pool has room for one slot, not two', { pool: 'big', poolSlots: 4 }, {}, 'pool_full', null],
    ['its pool does not exist (no slots)', { pool: 'nope' }, {}, 'pool_full', null],
    ['its pool has room', { pool: 'big', poolSlots: 3 }, {}, 'dispatching', null],
    ['matching agents are full', {}, { agents: [agent({ used: 2 }), agent({ used: 2 })] }, 'agents_full', null],
    [
      'no agent beats a limit',
      { agentSelector: { zone: 'us' } },
      { runActiveTasks: 2, maxActiveTasks: 2 },
      'no_matching_agent',
      null,
    ],
    ['everything allows it: on its way to an agent', {}, {}, 'dispatching', null],
    [
      'everything allows it, but the last batch went to other tenants first',
      {},
      { heldAtShare: true },
      'fair_share',
      null,
    ],
    [
      'held at its share, but its agents are full: agents_full',
      {},
      { heldAtShare: true, agents: [agent({ used: 2 })] },
      'agents_full',
      null,
    ],
    ['a cancelled run has no waiting tasks', { state: 'pending' }, { runState: 'cancelled' }, null, null],
  ])('%s', (_name, t, c, reason, until) => {
    const got = waitingReason(task(t), ctx(c));
    expect(got?.reason ?? null).toBe(reason);
    if (got) expect(got.until).toBe(until);
  });
});

describe('presenceHealthy', () => {
  it.each<[string, number | null, number, boolean]>([
    ['never seen', null, 0, false],
    ['seen just now', 1_000, 1_000, true],
    ['three heartbeats and the presence lag ago', 0, 3 * 200 + 5_000, true],
    ['a moment longer', 0, 3 * 200 + 5_001, false],
  ])('%s', (_name, lastSeenAt, now, healthy) => {
    expect(presenceHealthy(lastSeenAt, now, 200)).toBe(healthy);
  });
});
