/**
 * Alerts: which events a tenant's rules send to which channels, and what the
 * message says. Pure: the insight service stores channels, rules and
 * deliveries and does the sending.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { globToRegExp } from './matching.js';

/** The events an alert rule may name. */
export const ALERT_EVENTS = [
  'run_failed',
  'task_failed',
  'task_lost',
  'sla_at_risk',
  'sla_missed',
  'agent_offline',
  'trigger_misfired',
] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export function isAlertEvent(v: unknown): v is AlertEvent {
  return typeof v === 'string' && (ALERT_EVENTS as readonly string[]).includes(v);
}

export const ALERT_CHANNEL_TYPES = ['webhook', 'slack', 'email'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

/** Names of channels and rules: path segments users script against. */
export const ALERT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const httpUrl = z
  .string({ error: (i) => (i.input === undefined ? 'required for this type' : 'must be a string') })
  .url('must be an http(s) URL')
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
  .refine((u) => u.length <= 2_000, 'must be at most 2000 characters');

const email = z.string().regex(/^[^\s@<>,]+@[^\s@<>,]+$/, 'must be an email address');

const durationText = z
  .string({ error: 'must be a duration such as "10m"' })
  .refine((v) => parseDuration(v) !== null, 'must be a duration such as "30s", "10m" or "1h"');

/** `PUT /api/v1/alert-channels/{name}`: a webhook or Slack channel needs `url`, an email channel `to`. */
export const alertChannelSchema = z
  .strictObject({
    type: z.enum(ALERT_CHANNEL_TYPES, { error: 'must be one of webhook, slack, email' }),
    url: httpUrl.optional(),
    to: z.array(email).min(1, 'must name at least one address').max(50).optional(),
    secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.type === 'webhook' || c.type === 'slack') && c.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `required for a ${c.type} channel` });
    }
    if (c.type === 'email' && c.to === undefined) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'required for an email channel (a list of addresses)' });
    }
    if (c.type === 'email' && c.url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'not used by an email channel' });
    }
    if (c.type !== 'email' && c.to !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `not used by a ${c.type} channel` });
    }
    if (c.type !== 'webhook' && c.secret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'only a webhook channel signs with a secret' });
    }
  });
export type AlertChannelInput = z.output<typeof alertChannelSchema>;

/** `PUT /api/v1/alert-rules/{name}`. */
export const alertRuleSchema = z
  .strictObject({
    events: z
      .array(z.enum(ALERT_EVENTS, { error: `must be one of ${ALERT_EVENTS.join(', ')}` }))
      .min(1, 'must name at least one event'),
    jobs: z
      .array(
        z
          .string()
          .min(1)
          .max(100)
          .regex(/^[A-Za-z0-9_.*?-]+$/, 'must be a job name or a glob (* and ?)'),
      )
      .max(100)
      .default([]),
    channels: z.array(z.string().regex(ALERT_NAME, 'must be a channel name')).min(1, 'must name a channel').max(20),
    throttle: durationText.optional(),
    agentOfflineAfter: durationText.optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((r, ctx) => {
    if (r.agentOfflineAfter !== undefined && !r.events.includes('agent_offline')) {
      ctx.addIssue({ code: 'custom', path: ['agentOfflineAfter'], message: 'only for a rule on agent_offline' });
    }
  });
export type AlertRuleInput = z.output<typeof alertRuleSchema>;

/** A rule with the offline wait agent_offline rules use when they name none. */
export const DEFAULT_AGENT_OFFLINE_AFTER_MS = 120_000;

export interface AlertRule {
  name: string;
  events: readonly AlertEvent[];
  /** Job names or globs the rule is about; empty: every job of the tenant. */
  jobs: readonly string[];
  channels: readonly string[];
  enabled: boolean;
}

/** Whether a rule's job list takes `jobName` (null: an event about no job, such as an agent's, only for every-job rules). */
export function ruleCoversJob(jobs: readonly string[], jobName: string | null): boolean {
  if (jobs.length === 0) return true;
  if (jobName === null) return false;
  return jobs.some((j) => (j.includes('*') || j.includes('?') ? globToRegExp(j).test(jobName) : j === jobName));
}

/** The rules an event of `jobName` fires, each once, in the order given. */
export function matchingRules<R extends AlertRule>(
  rules: readonly R[],
  event: AlertEvent,
  jobName: string | null,
): R[] {
  return rules.filter((r) => r.enabled && r.events.includes(event) && ruleCoversJob(r.jobs, jobName));
}

/** What a bus event means for alerts: the rule event it fires, or the end of one (a resolved notice). */
export interface AlertSignal {
  event: AlertEvent;
  resolves: boolean;
}

/** The alert signal of an event on the bus, or null when alerts do not care. */
export function alertSignalOf(type: string, payload: { state?: unknown; from?: unknown }): AlertSignal | null {
  switch (type) {
    case 'run.finished':
      return payload.state === 'failed' ? { event: 'run_failed', resolves: false } : null;
    case 'task.failed':
      return { event: 'task_failed', resolves: false };
    case 'task.lost':
      return { event: 'task_lost', resolves: false };
    case 'sla.at_risk':
      return { event: 'sla_at_risk', resolves: false };
    case 'sla.missed':
      return { event: 'sla_missed', resolves: false };
    // A warning that ends in time: its resolved notice.
    case 'sla.met':
      return payload.from === 'at_risk' ? { event: 'sla_at_risk', resolves: true } : null;
    case 'agent.offline':
      return { event: 'agent_offline', resolves: false };
    case 'agent.online':
      return { event: 'agent_offline', resolves: true };
    case 'trigger.misfired':
      return { event: 'trigger_misfired', resolves: false };
    default:
      return null;
  }
}

/**
 * Whether an alert of a rule and job is suppressed: one was sent (or is on its
 * way) within the rule's throttle. Resolved notices are never throttled.
 */
export function isThrottled(lastAlertAt: number | null, throttleMs: number, now: number): boolean {
  return throttleMs > 0 && lastAlertAt !== null && now - lastAlertAt < throttleMs;
}

/** One delivery per (event, rule, channel), whoever consumes the event and however often. */
export function deliveryDedupeKey(eventId: string, rule: string, channel: string): string {
  return `${eventId}:${rule}:${channel}`;
}

/** The portal page of a run (web/src/lib/url.ts `href.run`: the portal is a static export, `/run/?id=`). */
export function runLink(baseUrl: string, runId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/run/?id=${encodeURIComponent(runId)}`;
}

/** What an alert is about, as the events carry it. */
export interface AlertFacts {
  event: AlertEvent;
  /** A resolved notice: the condition cleared. */
  resolved: boolean;
  jobName: string | null;
  runId: string | null;
  taskKey: string | null;
  logicalDate: number | null;
  /** Why (the SLA decision's reason, the task's error). */
  reason: string | null;
  finishBy: number | null;
  predictedP90: number | null;
  keyTask: string | null;
  /** agent_offline: the agent. */
  agent?: string | null;
}

export interface AlertMessage {
  /** One line: a chat message's first line, an email's subject. */
  title: string;
  /** The lines after it. */
  lines: string[];
}

const TITLES: Record<AlertEvent, string> = {
  run_failed: 'Run failed',
  task_failed: 'Task failed',
  task_lost: 'Task lost',
  sla_at_risk: 'SLA at risk',
  sla_missed: 'SLA missed',
  agent_offline: 'Agent offline',
  trigger_misfired: 'Trigger misfired',
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The message of an alert, the same in every channel. */
export function alertMessage(f: AlertFacts, runUrl: string | null): AlertMessage {
  const aboutTask = (f.event === 'task_failed' || f.event === 'task_lost') && f.taskKey;
  const subject =
    f.event === 'agent_offline'
      ? `agent ${f.agent ?? '?'}`
      : aboutTask
        ? `task ${f.taskKey} of job ${f.jobName ?? '?'}`
        : `job ${f.jobName ?? '?'}`;
  const lines: string[] = [];
  if (f.reason) lines.push(`Why: ${f.reason}`);
  if (f.taskKey && !aboutTask) lines.push(`Task: ${f.taskKey}`);
  if (f.logicalDate !== null) lines.push(`Logical date: ${iso(f.logicalDate)}`);
  if (f.finishBy !== null) lines.push(`Deadline: ${iso(f.finishBy)}`);
  if (f.predictedP90 !== null) lines.push(`Predicted finish (p90): ${iso(f.predictedP90)}`);
  if (f.keyTask) lines.push(`Key task: ${f.keyTask}`);
  if (f.runId !== null) lines.push(`Run: ${runUrl ?? f.runId}`);
  const title = `${TITLES[f.event]}: ${subject}`;
  return { title: f.resolved ? `Resolved: ${title}` : title, lines };
}

/** A Slack incoming-webhook message: `text` for notifications, blocks for the client. */
export function slackPayload(msg: AlertMessage, runUrl: string | null) {
  const text = [msg.title, ...msg.lines].join('\n');
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: msg.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: msg.lines.join('\n') || msg.title } },
      ...(runUrl
        ? [
            {
              type: 'actions',
              elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the run' }, url: runUrl }],
            },
          ]
        : []),
    ],
  };
}

/** Milliseconds to wait before delivery attempt `attempt + 1` after failed attempt `attempt` (1-based): 5 s doubling, at most 10 min. */
export function alertRetryDelayMs(attempt: number): number {
  return Math.min(600_000, 5_000 * 2 ** Math.max(0, attempt - 1));
}

/** Delivery attempts before a delivery is given up (and shown failed in the history). */
export const ALERT_MAX_ATTEMPTS = 8;

/** After a failed attempt: when to try again, or null to give up. */
export function nextDeliveryAttemptAt(attempts: number, now: number, maxAttempts = ALERT_MAX_ATTEMPTS): number | null {
  return attempts >= maxAttempts ? null : now + alertRetryDelayMs(attempts);
}
