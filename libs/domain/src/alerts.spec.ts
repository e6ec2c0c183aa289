import { describe, expect, it } from 'vitest';
import {
  type AlertFacts,
  type AlertRule,
  alertChannelSchema,
  alertMessage,
  alertRetryDelayMs,
  alertRuleSchema,
  alertSignalOf,
  deliveryDedupeKey,
  isAlertEvent,
  isThrottled,
  matchingRules,
  nextDeliveryAttemptAt,
  runLink,
  slackPayload,
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
    rule('all-misses', ['sla_missed']),
    rule('nightly', ['sla_at_risk', 'sla_missed'], ['nightly']),
    rule('etl', ['run_failed'], ['etl-*']),
    rule('failures', ['run_failed', 'agent_offline']),
    rule('off', ['sla_missed'], [], false),
  ];
  it.each<[AlertRule['events'][number], string | null, string[]]>([
    ['sla_missed', 'nightly', ['all-misses', 'nightly']],
    ['sla_missed', 'hourly', ['all-misses']],
    ['sla_at_risk', 'nightly', ['nightly']],
    ['sla_at_risk', 'hourly', []],
    ['run_failed', 'hourly', ['failures']],
    ['run_failed', 'etl-daily', ['etl', 'failures']],
    ['run_failed', 'etl', ['failures']],
    ['agent_offline', null, ['failures']],
  ])('%s of job %s fires %j', (type, job, want) => {
    expect(matchingRules(rules, type, job).map((r) => r.name)).toEqual(want);
  });

  it.each<[unknown, boolean]>([
    ['sla_missed', true],
    ['trigger_misfired', true],
    ['sla.missed', false],
    [42, false],
  ])('%j is an alert event: %s', (v, want) => expect(isAlertEvent(v)).toBe(want));
});

describe('what a bus event means for alerts', () => {
  it.each<[string, Record<string, unknown>, ReturnType<typeof alertSignalOf>]>([
    ['run.finished', { state: 'failed' }, { event: 'run_failed', resolves: false }],
    ['run.finished', { state: 'succeeded' }, null],
    ['run.finished', { state: 'cancelled' }, null],
    ['task.failed', {}, { event: 'task_failed', resolves: false }],
    ['task.lost', {}, { event: 'task_lost', resolves: false }],
    ['sla.at_risk', { from: 'pending' }, { event: 'sla_at_risk', resolves: false }],
    ['sla.missed', { from: 'at_risk' }, { event: 'sla_missed', resolves: false }],
    ['sla.met', { from: 'at_risk' }, { event: 'sla_at_risk', resolves: true }],
    ['sla.met', { from: 'pending' }, null],
    ['sla.task_overdue', {}, null],
    ['run.created', {}, null],
  ])('%s %j is %j', (type, payload, want) => expect(alertSignalOf(type, payload)).toEqual(want));
});

describe('throttling per rule and job', () => {
  it.each<[number | null, number, number, boolean]>([
    [null, 600_000, 1_000, false],
    [0, 600_000, 599_999, true],
    [0, 600_000, 600_000, false],
    [0, 0, 1, false],
  ])('last alert at %j, throttle %i, now %i: suppressed %s', (last, throttle, now, want) =>
    expect(isThrottled(last, throttle, now)).toBe(want),
  );
});

describe('channel and rule bodies', () => {
  const issues = (schema: typeof alertChannelSchema | typeof alertRuleSchema, body: unknown) => {
    const r = schema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };
  it.each<[unknown, string[]]>([
    [{ type: 'webhook', url: 'http://example.test/hook', secret: 'a-secret-of-16-chars' }, []],
    [{ type: 'slack', url: 'https://hooks.slack.test/x' }, []],
    [{ type: 'email', to: ['ops@example.test'] }, []],
    [{ type: 'webhook' }, ['url']],
    [{ type: 'webhook', url: 'ftp://x' }, ['url']],
    [{ type: 'email' }, ['to']],
    [{ type: 'email', to: ['not-an-address'] }, ['to.0']],
    [{ type: 'slack', url: 'https://x.test', secret: 'a-secret-of-16-chars' }, ['secret']],
    [{ type: 'pager', url: 'https://x.test' }, ['type']],
    [{ type: 'webhook', url: 'https://x.test', extra: 1 }, ['']],
  ])('channel %j: issues at %j', (body, want) => expect(issues(alertChannelSchema, body)).toEqual(want));

  it.each<[unknown, string[]]>([
    [{ events: ['run_failed'], channels: ['ops'], throttle: '10m' }, []],
    [{ events: ['agent_offline'], channels: ['ops'], agentOfflineAfter: '2m' }, []],
    [{ events: [], channels: ['ops'] }, ['events']],
    [{ events: ['run_exploded'], channels: ['ops'] }, ['events.0']],
    [{ events: ['run_failed'], channels: [] }, ['channels']],
    [{ events: ['run_failed'], channels: ['ops'], throttle: 'soon' }, ['throttle']],
    [{ events: ['run_failed'], channels: ['ops'], agentOfflineAfter: '2m' }, ['agentOfflineAfter']],
    [{ events: ['run_failed'], channels: ['ops'], jobs: ['a b'] }, ['jobs.0']],
  ])('rule %j: issues at %j', (body, want) => expect(issues(alertRuleSchema, body)).toEqual(want));
});

describe('the message of an alert', () => {
  const facts: AlertFacts = {
    event: 'sla_missed',
    resolved: false,
    jobName: 'nightly',
    runId: 'r1',
    taskKey: null,
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
  it.each<[Partial<AlertFacts>, string]>([
    [{ event: 'task_failed', taskKey: 'load' }, 'Task failed: task load of job nightly'],
    [{ event: 'task_lost', taskKey: 'load' }, 'Task lost: task load of job nightly'],
    [{ event: 'sla_at_risk', resolved: true }, 'Resolved: SLA at risk: job nightly'],
    [{ event: 'agent_offline', agent: 'edge-1', jobName: null, runId: null }, 'Agent offline: agent edge-1'],
  ])('%j is titled %j', (over, title) => expect(alertMessage({ ...facts, ...over }, null).title).toBe(title));
  it('names the task that failed a run on a line of its own', () => {
    const m = alertMessage({ ...facts, event: 'run_failed', taskKey: 'load', reason: 'task load failed' }, null);
    expect(m.title).toBe('Run failed: job nightly');
    expect(m.lines.slice(0, 2)).toEqual(['Why: task load failed', 'Task: load']);
  });
  it('names the run id without a portal address', () => {
    expect(alertMessage({ ...facts, reason: null, finishBy: null, keyTask: null }, null).lines).toEqual([
      'Logical date: 2026-12-01T00:00:00.000Z',
      'Run: r1',
    ]);
  });
  it('is a Slack message with text, blocks and a link to the run', () => {
    const url = runLink('http://baton.test/', 'r1');
    expect(url).toBe('http://baton.test/run/?id=r1');
    const s = slackPayload(alertMessage(facts, url), url);
    expect(s.text.split('\n')[0]).toBe('SLA missed: job nightly');
    expect(s.blocks.map((b) => b.type)).toEqual(['header', 'section', 'actions']);
  });
});

describe('deliveries', () => {
  it('are keyed by event, rule and channel', () =>
    expect(deliveryDedupeKey('e1', 'failures', 'ops')).toBe('e1:failures:ops'));
  it.each<[number, number]>([
    [1, 5_000],
    [2, 10_000],
    [5, 80_000],
    [20, 600_000],
  ])('attempt %i waits %i ms', (attempt, ms) => expect(alertRetryDelayMs(attempt)).toBe(ms));
  it.each<[number, number | null]>([
    [1, 1_000 + 5_000],
    [7, 1_000 + 320_000],
    [8, null],
  ])('after %i failed attempts the next is at %j', (attempts, want) =>
    expect(nextDeliveryAttemptAt(attempts, 1_000)).toBe(want),
  );
});
