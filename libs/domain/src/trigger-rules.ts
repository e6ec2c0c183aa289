import { leaves, topologicalOrder } from './dag.js';
import type { DagNode } from './dag.js';
import { isSuccessLike, isTerminalTaskState } from './task-state.js';
import type { TaskState } from './task-state.js';

export type TriggerRule = 'all_success' | 'all_done' | 'one_success' | 'one_failed' | 'all_failed' | 'none_failed';

export const TRIGGER_RULES: readonly TriggerRule[] = [
  'all_success',
  'all_done',
  'one_success',
  'one_failed',
  'all_failed',
  'none_failed',
];

export type Readiness = 'wait' | 'run' | 'skip' | 'upstream_failed';

interface Tally {
  total: number;
  done: number;
  succeeded: number;
  skipped: number;
  failed: number;
}

/**
 * Upstream buckets for readiness. Every terminal state other than succeeded
 * and skipped is a failure here, cancelled and compensated included: neither
 * delivered the upstream's work, and a downstream must not wait on them forever.
 */
function tally(upstream: readonly TaskState[]): Tally {
  const t: Tally = { total: upstream.length, done: 0, succeeded: 0, skipped: 0, failed: 0 };
  for (const s of upstream) {
    if (!isTerminalTaskState(s)) continue;
    t.done++;
    if (s === 'succeeded') t.succeeded++;
    else if (s === 'skipped') t.skipped++;
    else t.failed++;
  }
  return t;
}

/**
 * Airflow semantics, deciding as early as the rule allows: a decision that no
 * later upstream result could change is taken now, so a long-running sibling
 * does not hold up a skip or an upstream_failed.
 */
export function evaluateTriggerRule(rule: TriggerRule, upstream: readonly TaskState[]): Readiness {
  if (upstream.length === 0) return 'run';
  const t = tally(upstream);
  const allDone = t.done === t.total;
  switch (rule) {
    case 'all_success':
      if (t.failed > 0) return 'upstream_failed';
      if (t.skipped > 0) return 'skip';
      return allDone ? 'run' : 'wait';
    case 'all_done':
      return allDone ? 'run' : 'wait';
    case 'one_success':
      if (t.succeeded > 0) return 'run';
      if (!allDone) return 'wait';
      return t.skipped === t.total ? 'skip' : 'upstream_failed';
    case 'one_failed':
      if (t.failed > 0) return 'run';
      return allDone ? 'skip' : 'wait';
    case 'all_failed':
      if (t.succeeded > 0 || t.skipped > 0) return 'skip';
      return allDone ? 'run' : 'wait';
    case 'none_failed':
      if (t.failed > 0) return 'upstream_failed';
      return allDone ? 'run' : 'wait';
    default: {
      const unknown: never = rule;
      throw new Error(`unknown trigger rule ${String(unknown)}`);
    }
  }
}

export type ReadinessNode = DagNode & { triggerRule: TriggerRule };

export type ReadinessChange = 'queued' | 'skipped' | 'upstream_failed';

/**
 * New states for the `pending` tasks that can be decided now. One pass in
 * topological order reaches the fixpoint: a skip or upstream_failed cascades
 * to its downstream in the same call. A task missing from `states` is pending.
 */
export function resolveReadiness(
  nodes: readonly ReadinessNode[],
  states: Readonly<Record<string, TaskState>>,
): Record<string, ReadinessChange> {
  const current = new Map<string, TaskState>();
  const stateOf = (key: string): TaskState => current.get(key) ?? states[key] ?? 'pending';
  const changes: Record<string, ReadinessChange> = {};

  for (const { key, rule, upstream } of readinessPlan(nodes)) {
    if (stateOf(key) !== 'pending') continue;
    const decision = evaluateTriggerRule(rule, upstream.map(stateOf));
    if (decision === 'wait') continue;
    const next: ReadinessChange = decision === 'run' ? 'queued' : decision === 'skip' ? 'skipped' : 'upstream_failed';
    current.set(key, next);
    changes[key] = next;
  }
  return changes;
}

interface PlannedNode {
  key: string;
  rule: TriggerRule;
  upstream: readonly string[];
}

/**
 * The nodes in topological order with their distinct upstream keys, worked out
 * once per definition: readiness is decided after every result batch, and a
 * run may hold 10,000 tasks. Definitions are not changed once built.
 */
const plans = new WeakMap<readonly ReadinessNode[], readonly PlannedNode[]>();

function readinessPlan(nodes: readonly ReadinessNode[]): readonly PlannedNode[] {
  let plan = plans.get(nodes);
  if (!plan) {
    const byKey = new Map(nodes.map((n) => [n.key, n]));
    plan = topologicalOrder(nodes).map((key) => {
      const n = byKey.get(key)!;
      return { key, rule: n.triggerRule, upstream: [...new Set(n.dependsOn)] };
    });
    plans.set(nodes, plan);
  }
  return plan;
}

export type RunOutcome = 'running' | 'succeeded' | 'failed';

/** Airflow's leaf rule: once every task is final, the run succeeded iff every leaf succeeded or was skipped. */
export function runOutcome(nodes: readonly DagNode[], states: Readonly<Record<string, TaskState>>): RunOutcome {
  const stateOf = (key: string): TaskState => states[key] ?? 'pending';
  if (nodes.some((n) => !isTerminalTaskState(stateOf(n.key)))) return 'running';
  return leaves(nodes).every((k) => isSuccessLike(stateOf(k))) ? 'succeeded' : 'failed';
}
