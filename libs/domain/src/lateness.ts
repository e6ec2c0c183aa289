import { TIME_TRIGGER_TYPES } from './job-definition.js';

/**
 * Where a run's time went (`GET /api/v1/runs/{id}/lateness`). Pure: the
 * caller reads the run, its task runs with their last attempt, and the
 * tasks' `dependsOn` of the run's job version.
 *
 * - trigger delay: logical date (the slot time) → run created, for runs of a
 *   time trigger only (null for manual, event, backfill and rerun runs: their
 *   logical date is not a time they were due);
 * - the critical path: the task that ended last, then, back along
 *   `dependsOn`, the upstream task that ended last, to a root;
 * - per task on it (its last attempt): queue wait (task ready → assigned),
 *   dispatch (assigned → started, the agent's ACK), execution (started →
 *   finished), and their sums;
 * - total: run created → run finished (null while it runs); `otherMs` is what
 *   the sums leave out of it (the wait for the first task to become ready,
 *   earlier attempts and retry backoff, gaps between an upstream's end and
 *   the next task's readiness).
 * A phase whose ends are not both known is null (and counts 0 in the sums).
 */

export interface LatenessRunInput {
  triggerType: string;
  logicalDate: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface LatenessTaskInput {
  key: string;
  dependsOn: readonly string[];
  state: string;
  readyAt: number | null;
  attempts: number;
  /** The task's last attempt; null when it never had one. */
  attempt: { assignedAt: number; startedAt: number | null; finishedAt: number | null } | null;
  finishedAt: number | null;
}

export interface TaskLateness {
  key: string;
  state: string;
  attempts: number;
  queueWaitMs: number | null;
  dispatchMs: number | null;
  executionMs: number | null;
}

export interface RunLateness {
  triggerDelayMs: number | null;
  /** The critical path, first task to last. */
  criticalPath: TaskLateness[];
  queueWaitMs: number;
  dispatchMs: number;
  executionMs: number;
  totalMs: number | null;
  otherMs: number | null;
}

const span = (from: number | null | undefined, to: number | null | undefined): number | null =>
  from === null || from === undefined || to === null || to === undefined ? null : Math.max(0, to - from);

const isTimeTrigger = (t: string) => (TIME_TRIGGER_TYPES as readonly string[]).includes(t);

/** When a task ended: its own finish, else its last attempt's. */
const endOf = (t: LatenessTaskInput): number | null => t.finishedAt ?? t.attempt?.finishedAt ?? null;

/**
 * The chain of tasks that ended last: the last to end (on a tie the later in
 * `tasks`), then back along `dependsOn` to the upstream that ended last. A
 * run whose tasks have not ended has an empty path.
 */
export function criticalPath(tasks: readonly LatenessTaskInput[]): LatenessTaskInput[] {
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const latest = (candidates: readonly LatenessTaskInput[]): LatenessTaskInput | null => {
    let best: LatenessTaskInput | null = null;
    for (const t of candidates) {
      const e = endOf(t);
      if (e !== null && (best === null || e >= endOf(best)!)) best = t;
    }
    return best;
  };
  const path: LatenessTaskInput[] = [];
  const seen = new Set<string>();
  for (let t = latest(tasks); t !== null && !seen.has(t.key);) {
    seen.add(t.key);
    path.unshift(t);
    const ups = t.dependsOn.flatMap((d) => (d !== t!.key && byKey.has(d) ? [byKey.get(d)!] : []));
    t = latest(ups);
  }
  return path;
}

/**
 * When a task became ready: as stored while it waits; a finished task's is
 * cleared, so for its only attempt it is when its last upstream ended (a root:
 * when the run began). Unknown for a retried task (its retry's due time is gone).
 */
function readyOf(
  t: LatenessTaskInput,
  byKey: ReadonlyMap<string, LatenessTaskInput>,
  begin: number | null,
): number | null {
  if (t.readyAt !== null) return t.readyAt;
  if (t.attempts > 1) return null;
  if (t.dependsOn.length === 0) return begin;
  let ready: number | null = null;
  for (const d of t.dependsOn) {
    const end = byKey.has(d) ? endOf(byKey.get(d)!) : null;
    if (end === null) return null;
    ready = Math.max(ready ?? end, end);
  }
  return ready;
}

export function runLateness(run: LatenessRunInput, tasks: readonly LatenessTaskInput[]): RunLateness {
  // A run a time trigger created ahead of its slot (scheduled) begins when it starts, at the slot.
  const ahead = run.createdAt < run.logicalDate && isTimeTrigger(run.triggerType);
  const begin = ahead ? run.startedAt : run.createdAt;
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const path = criticalPath(tasks).map((t): TaskLateness => ({
    key: t.key,
    state: t.state,
    attempts: t.attempts,
    queueWaitMs: span(readyOf(t, byKey, begin), t.attempt?.assignedAt),
    dispatchMs: span(t.attempt?.assignedAt, t.attempt?.startedAt),
    executionMs: span(t.attempt?.startedAt, t.attempt?.finishedAt ?? t.finishedAt),
  }));
  const sum = (f: (t: TaskLateness) => number | null) => path.reduce((a, t) => a + (f(t) ?? 0), 0);
  const queueWaitMs = sum((t) => t.queueWaitMs);
  const dispatchMs = sum((t) => t.dispatchMs);
  const executionMs = sum((t) => t.executionMs);
  const totalMs = span(begin, run.finishedAt);
  return {
    triggerDelayMs: isTimeTrigger(run.triggerType) ? span(run.logicalDate, begin) : null,
    criticalPath: path,
    queueWaitMs,
    dispatchMs,
    executionMs,
    totalMs,
    otherMs: totalMs === null ? null : Math.max(0, totalMs - queueWaitMs - dispatchMs - executionMs),
  };
}
