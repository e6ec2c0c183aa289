export type TaskState =
  | 'pending'
  | 'queued'
  | 'assigned'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'lost'
  | 'up_for_retry'
  | 'skipped'
  | 'upstream_failed'
  | 'cancelled'
  | 'compensating'
  | 'compensated';

export const TASK_STATES: readonly TaskState[] = [
  'pending',
  'queued',
  'assigned',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'up_for_retry',
  'skipped',
  'upstream_failed',
  'cancelled',
  'compensating',
  'compensated',
];

/**
 * Every legal task move. Writers compare-and-set against this table so that a
 * late or duplicated message can never move a task backwards.
 *
 * Reruns are deliberately absent: re-executing a finished task is a new task
 * run, not a transition. A retry is `failed | timed_out | lost -> up_for_retry
 * -> queued`; the transition store writes `running -> failed -> up_for_retry`
 * as one move (checked step by step), so readiness never observes the
 * intermediate `failed`. Likewise a result whose ACK was lost is `assigned ->
 * running -> succeeded`.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  // Readiness decides: run it, skip it (trigger rule / condition), or give up because upstream failed; or the run is
  // cancelled; a condition that cannot be evaluated fails it before it starts.
  pending: ['queued', 'skipped', 'upstream_failed', 'cancelled', 'failed'],
  // Dispatch hands it to an agent; an operator may cancel it or mark it skipped before it starts; a template that
  // cannot be rendered fails it before it is sent.
  queued: ['assigned', 'cancelled', 'skipped', 'failed'],
  // ACK starts it; no ACK in time re-queues without spending a try; the agent may vanish or refuse it; the
  // server's deadline may pass before an ACK arrives.
  assigned: ['running', 'queued', 'lost', 'cancelled', 'failed', 'timed_out'],
  // The agent reports a result, the deadline passes, the lease runs out, or the run is cancelled.
  running: ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'],
  // SAGA: a succeeded task is undone by its compensation task when the run fails.
  succeeded: ['compensating'],
  // Retry when the policy allows; otherwise an operator may mark it succeeded or skipped.
  failed: ['up_for_retry', 'succeeded', 'skipped'],
  // Same as failed: a timeout is retryable and operator-overridable.
  timed_out: ['up_for_retry', 'succeeded', 'skipped'],
  // Same as failed; lost never goes straight back to queued so the retry policy (and idempotency) is always consulted.
  lost: ['up_for_retry', 'succeeded', 'skipped'],
  // Backoff elapsed: back in the queue; or cancelled / skipped by an operator while waiting.
  up_for_retry: ['queued', 'cancelled', 'skipped'],
  // Operator override: declare the missing upstream work done, or skip it.
  upstream_failed: ['succeeded', 'skipped'],
  // Final.
  skipped: [],
  // Final.
  cancelled: [],
  // The compensation task finished, or it failed and needs attention.
  compensating: ['compensated', 'failed'],
  // Final.
  compensated: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: string,
    readonly to: string,
    kind = 'task',
  ) {
    super(`illegal ${kind} state transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: TaskState, to: TaskState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'skipped',
  'upstream_failed',
  'cancelled',
  'compensated',
]);

/** Terminal for DAG purposes: downstream tasks may be decided on it. */
export function isTerminalTaskState(s: TaskState): boolean {
  return TERMINAL_TASK_STATES.has(s);
}

/** Counts as a good end for the run outcome (Airflow's leaf rule). */
export function isSuccessLike(s: TaskState): boolean {
  return s === 'succeeded' || s === 'skipped';
}

export function isFailureLike(s: TaskState): boolean {
  return s === 'failed' || s === 'timed_out' || s === 'lost' || s === 'upstream_failed';
}

export type RunState = 'scheduled' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const RUN_STATES: readonly RunState[] = ['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  // Created ahead of its time trigger's slot; at the slot it starts, or waits its turn (maxActiveRuns, the
  // tenant's maxConcurrentRuns), or is cancelled before it.
  scheduled: ['running', 'queued', 'cancelled'],
  // Started by the scheduler, cancelled before it starts, or refused at start (e.g. its version cannot be resolved).
  queued: ['running', 'cancelled', 'failed'],
  // Outcome from the task states (see runOutcome), or cancelled by an operator.
  running: ['succeeded', 'failed', 'cancelled'],
  // Final; a rerun is a new run.
  succeeded: [],
  // Final; a rerun is a new run.
  failed: [],
  // Final.
  cancelled: [],
};

/** A run that has ended (succeeded, failed or cancelled); scheduled, queued and running runs have not. */
export function isRunFinished(s: RunState): boolean {
  return RUN_TRANSITIONS[s].length === 0;
}

export function canRunTransition(from: RunState, to: RunState): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function assertRunTransition(from: RunState, to: RunState): void {
  if (!canRunTransition(from, to)) throw new IllegalTransitionError(from, to, 'run');
}

/** `expired` = not ACKed in time; unlike the others it does not count as a try. */
export type AttemptState =
  'assigned' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'cancelled' | 'expired';

export const ATTEMPT_STATES: readonly AttemptState[] = [
  'assigned',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'cancelled',
  'expired',
];

export const ATTEMPT_TRANSITIONS: Readonly<Record<AttemptState, readonly AttemptState[]>> = {
  // ACKed; not ACKed in time; agent gone; cancelled; refused by the agent; the server's deadline passed first.
  assigned: ['running', 'expired', 'lost', 'cancelled', 'failed', 'timed_out'],
  // Result received, deadline passed, lease ran out, or cancelled.
  running: ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'],
  // All final: a late result for a finished attempt is ignored, never applied.
  succeeded: [],
  failed: [],
  timed_out: [],
  lost: [],
  cancelled: [],
  expired: [],
};

export function canAttemptTransition(from: AttemptState, to: AttemptState): boolean {
  return ATTEMPT_TRANSITIONS[from].includes(to);
}

export function assertAttemptTransition(from: AttemptState, to: AttemptState): void {
  if (!canAttemptTransition(from, to)) throw new IllegalTransitionError(from, to, 'attempt');
}

/** Whether an attempt spends one of the task's tries (an in-flight attempt does until it expires). */
export function attemptCountsAsTry(s: AttemptState): boolean {
  return s !== 'expired';
}
