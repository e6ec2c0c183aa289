import { describe, expect, it } from 'vitest';

import {
  ATTEMPT_STATES,
  ATTEMPT_TRANSITIONS,
  IllegalTransitionError,
  RUN_STATES,
  RUN_TRANSITIONS,
  isRunFinished,
  TASK_STATES,
  TASK_TRANSITIONS,
  assertAttemptTransition,
  assertRunTransition,
  assertTransition,
  attemptCountsAsTry,
  canAttemptTransition,
  canRunTransition,
  canTransition,
  isFailureLike,
  isSuccessLike,
  isTerminalTaskState,
} from './task-state.js';
import type { AttemptState, RunState, TaskState } from './task-state.js';

describe('task transitions', () => {
  it.each<[TaskState, TaskState, boolean]>([
    ['pending', 'queued', true],
    ['pending', 'skipped', true],
    ['pending', 'upstream_failed', true],
    ['pending', 'cancelled', true],
    ['pending', 'failed', true],
    ['queued', 'failed', true],
    ['pending', 'running', false],
    ['queued', 'assigned', true],
    ['queued', 'skipped', true],
    ['queued', 'running', false],
    ['assigned', 'running', true],
    ['assigned', 'queued', true],
    ['assigned', 'lost', true],
    ['assigned', 'failed', true],
    ['assigned', 'timed_out', true],
    ['assigned', 'succeeded', false],
    ['running', 'succeeded', true],
    ['running', 'timed_out', true],
    ['running', 'lost', true],
    ['running', 'queued', false],
    ['running', 'pending', false],
    ['running', 'up_for_retry', false],
    ['failed', 'up_for_retry', true],
    ['timed_out', 'up_for_retry', true],
    ['lost', 'up_for_retry', true],
    ['lost', 'queued', false],
    ['failed', 'queued', false],
    ['up_for_retry', 'queued', true],
    ['up_for_retry', 'cancelled', true],
    ['up_for_retry', 'running', false],
    ['failed', 'succeeded', true],
    ['timed_out', 'succeeded', true],
    ['lost', 'succeeded', true],
    ['upstream_failed', 'succeeded', true],
    ['upstream_failed', 'skipped', true],
    ['failed', 'skipped', true],
    ['failed', 'compensating', false],
    ['succeeded', 'compensating', true],
    ['succeeded', 'failed', false],
    ['succeeded', 'running', false],
    ['compensating', 'compensated', true],
    ['compensating', 'failed', true],
    ['compensated', 'succeeded', false],
    ['skipped', 'queued', false],
    ['cancelled', 'queued', false],
  ])('%s -> %s is %s', (from, to, legal) => {
    expect(canTransition(from, to)).toBe(legal);
    if (legal) expect(() => assertTransition(from, to)).not.toThrow();
    else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it('names both states in the error', () => {
    const err = (() => {
      try {
        assertTransition('succeeded', 'running');
      } catch (e) {
        return e;
      }
    })() as IllegalTransitionError;
    expect(err).toMatchObject({
      from: 'succeeded',
      to: 'running',
      message: 'illegal task state transition succeeded -> running',
    });
  });

  it.each(TASK_STATES)('%s has a row and only moves to known states', (s) => {
    expect(TASK_TRANSITIONS[s]).toBeDefined();
    for (const to of TASK_TRANSITIONS[s]) expect(TASK_STATES).toContain(to);
    expect(TASK_TRANSITIONS[s]).not.toContain(s);
  });

  it.each(TASK_STATES)('%s: no state other than the final ones is a dead end', (s) => {
    const dead = TASK_TRANSITIONS[s].length === 0;
    expect(dead).toBe(['skipped', 'cancelled', 'compensated'].includes(s));
  });
});

describe('task state classes', () => {
  it.each<[TaskState, boolean, boolean, boolean]>([
    // state, terminal, success-like, failure-like
    ['pending', false, false, false],
    ['queued', false, false, false],
    ['assigned', false, false, false],
    ['running', false, false, false],
    ['up_for_retry', false, false, false],
    ['compensating', false, false, false],
    ['succeeded', true, true, false],
    ['skipped', true, true, false],
    ['failed', true, false, true],
    ['timed_out', true, false, true],
    ['lost', true, false, true],
    ['upstream_failed', true, false, true],
    ['cancelled', true, false, false],
    ['compensated', true, false, false],
  ])('%s: terminal=%s successLike=%s failureLike=%s', (s, terminal, success, failure) => {
    expect(isTerminalTaskState(s)).toBe(terminal);
    expect(isSuccessLike(s)).toBe(success);
    expect(isFailureLike(s)).toBe(failure);
  });
});

describe('run transitions', () => {
  it.each<[RunState, RunState, boolean]>([
    ['scheduled', 'running', true],
    ['scheduled', 'queued', true],
    ['scheduled', 'cancelled', true],
    ['scheduled', 'succeeded', false],
    ['scheduled', 'failed', false],
    ['queued', 'scheduled', false],
    ['running', 'scheduled', false],
    ['queued', 'running', true],
    ['queued', 'cancelled', true],
    ['queued', 'succeeded', false],
    ['running', 'succeeded', true],
    ['running', 'failed', true],
    ['running', 'cancelled', true],
    ['running', 'queued', false],
    ['succeeded', 'running', false],
    ['failed', 'running', false],
    ['cancelled', 'running', false],
  ])('%s -> %s is %s', (from, to, legal) => {
    expect(canRunTransition(from, to)).toBe(legal);
    if (!legal) expect(() => assertRunTransition(from, to)).toThrow('illegal run state transition');
  });

  it.each<[RunState, boolean]>([
    ['scheduled', false],
    ['queued', false],
    ['running', false],
    ['succeeded', true],
    ['failed', true],
    ['cancelled', true],
  ])('%s is finished: %s', (state, finished) => {
    expect(isRunFinished(state)).toBe(finished);
  });

  it('has a row for every run state', () => {
    expect(Object.keys(RUN_TRANSITIONS).sort()).toEqual([...RUN_STATES].sort());
  });
});

describe('attempt transitions', () => {
  it.each<[AttemptState, AttemptState, boolean]>([
    ['assigned', 'running', true],
    ['assigned', 'expired', true],
    ['assigned', 'lost', true],
    ['assigned', 'timed_out', true],
    ['assigned', 'succeeded', false],
    ['running', 'succeeded', true],
    ['running', 'timed_out', true],
    ['running', 'expired', false],
    ['succeeded', 'failed', false],
    ['lost', 'succeeded', false],
    ['expired', 'running', false],
  ])('%s -> %s is %s', (from, to, legal) => {
    expect(canAttemptTransition(from, to)).toBe(legal);
    if (!legal) expect(() => assertAttemptTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it('has a row for every attempt state', () => {
    expect(Object.keys(ATTEMPT_TRANSITIONS).sort()).toEqual([...ATTEMPT_STATES].sort());
  });

  it.each<[AttemptState, boolean]>([
    ['expired', false],
    ['failed', true],
    ['lost', true],
    ['timed_out', true],
    ['running', true],
  ])('%s counts as a try: %s', (s, counts) => {
    expect(attemptCountsAsTry(s)).toBe(counts);
  });
});
