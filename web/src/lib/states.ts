import type { AttemptState, RunState, TaskState } from '@/api/client';

export type AnyState = RunState | TaskState | AttemptState;

/** How a state reads at a glance: a tone for colour (always shown with the state's name, never alone). */
export type Tone = 'ok' | 'bad' | 'active' | 'wait' | 'muted' | 'warn';

const TONES: Record<AnyState, Tone> = {
  scheduled: 'wait',
  pending: 'wait',
  queued: 'wait',
  assigned: 'active',
  running: 'active',
  succeeded: 'ok',
  failed: 'bad',
  timed_out: 'bad',
  lost: 'bad',
  expired: 'muted',
  up_for_retry: 'warn',
  skipped: 'muted',
  upstream_failed: 'warn',
  cancelled: 'muted',
  compensating: 'warn',
  compensated: 'muted',
};

export function toneOf(state: AnyState): Tone {
  return TONES[state];
}

export const RUN_STATES: readonly RunState[] = ['scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

const FINISHED = new Set<AnyState>([
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'skipped',
  'upstream_failed',
  'cancelled',
  'compensated',
  'expired',
]);

export function isFinished(state: AnyState): boolean {
  return FINISHED.has(state);
}

/** Task states `rerun failed` starts again (their downstream, e.g. `upstream_failed`, comes along). */
export function isFailure(state: TaskState): boolean {
  return state === 'failed' || state === 'timed_out' || state === 'lost';
}
