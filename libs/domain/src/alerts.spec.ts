import { describe, expect, it } from 'vitest';
import {
  type AlertFacts,
  type AlertRule,
  alertMessage,
  alertRetryDelayMs,
  isAlertEvent,
  matchingRules,
} from './alerts.js';

describe('which rules an event fires', () => {
  const rule = (name: string, events: AlertRule['events'], jobs: string[] = [], enabled = true): AlertRule => ({
    name,
    events,
    jobs,
    channels: ['ops'],
    enabled,
  });
  const rules = [
    rule('all-misses', ['sla.missed']),
    rule('nightly', ['sla.at_risk', 'sla.missed'], ['nightly']),
    rule('failures', ['run.failed']),
    rule('off', ['sla.missed'], [], false),
  ];
  it.each<[string, string, string[]]>([
    ['sla.missed', 'nightly', ['all-misses', 'nightly']],
    ['sla.missed', 'hourly', ['all-misses']],
    ['sla.at_risk', 'nightly', ['nightly']],
    ['sla.at_risk', 'hourly', []],
    ['run.failed', 'hourly', ['failures']],
    ['sla.met', 'nightly', []],
  ])('%s of job %s fires %j', (type, job, want) => {
    expect(matchingRules(rules, type, job).map((r) => r.name)).toEqual(want);
  });

  it.each<[unknown, boolean]>([
    ['sla.missed', true],
    ['sla.task_overdue', true],
    ['sla.met', false],
    [42, false],
  ])('%j is an alert event: %s', (v, want) => expect(isAlertEvent(v)).toBe(want));
});

describe('the message of an alert', () => {
  const facts: AlertFacts = {
    type: 'sla.missed',
    jobName: 'nightly',
    runId: 'r1',
    logicalDate: Date.parse('2026-12-01T00:00:00Z'),
    reason: 'not finished by the deadline',
    finishBy: Date.parse('2026-12-01T22:00:00Z'),
    predictedP90: null,
    keyTask: 'load',
  };
  it('says what, why, when and where to look', () => {
    expect(alertMessage(facts, 'http://baton/runs/r1')).toEqual({
      title: 'SLA missed: job nightly',
      lines: [
        'Why: not finished by the deadline',
        'Logical date: 2026-12-01T00:00:00.000Z',
        'Deadline: 2026-12-01T22:00:00.000Z',
        'Key task: load',
        'Run: http://baton/runs/r1',
      ],
    });
  });
  it('names the task of an overdue task, and the run id without a portal address', () => {
    const m = alertMessage(
      {
        ...facts,
        type: 'sla.task_overdue',
        reason: null,
        finishBy: null,
        keyTask: null,
        taskKey: 'w',
        maxDurationMs: 60_000,
      },
      null,
    );
    expect(m.title).toBe('Task past its maxDuration: task w of job nightly');
    expect(m.lines).toEqual(['Logical date: 2026-12-01T00:00:00.000Z', 'maxDuration: 60 s', 'Run: r1']);
  });
});

describe('delivery retries', () => {
  it.each<[number, number]>([
    [1, 5_000],
    [2, 10_000],
    [5, 80_000],
    [20, 600_000],
  ])('attempt %i waits %i ms', (attempt, ms) => expect(alertRetryDelayMs(attempt)).toBe(ms));
});
