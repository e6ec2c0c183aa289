/**
 * Alerts: which events a tenant's rules send to which channels, and what the
 * message says. Pure: the insight service stores rules and deliveries and
 * does the sending.
 */

/** The events an alert rule may name. */
export const ALERT_EVENTS = ['sla.at_risk', 'sla.missed', 'sla.task_overdue', 'run.failed'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export function isAlertEvent(v: unknown): v is AlertEvent {
  return typeof v === 'string' && (ALERT_EVENTS as readonly string[]).includes(v);
}

export interface AlertRule {
  name: string;
  events: readonly AlertEvent[];
  /** Jobs the rule is about; empty: every job of the tenant. */
  jobs: readonly string[];
  channels: readonly string[];
  enabled: boolean;
}

/** The rules an event of `jobName` fires, each once, in the order given. */
export function matchingRules<R extends AlertRule>(rules: readonly R[], type: string, jobName: string): R[] {
  return rules.filter(
    (r) =>
      r.enabled && (r.events as readonly string[]).includes(type) && (r.jobs.length === 0 || r.jobs.includes(jobName)),
  );
}

/** What an alert is about, as the events carry it. */
export interface AlertFacts {
  type: AlertEvent;
  jobName: string;
  runId: string;
  logicalDate: number | null;
  /** Why (the SLA decision's reason, the run's error). */
  reason: string | null;
  finishBy: number | null;
  predictedP90: number | null;
  keyTask: string | null;
  /** sla.task_overdue: the task and its maxDuration. */
  taskKey?: string | null;
  maxDurationMs?: number | null;
}

export interface AlertMessage {
  /** One line: a chat message's first line, an email's subject. */
  title: string;
  /** The lines after it. */
  lines: string[];
}

const TITLES: Record<AlertEvent, string> = {
  'sla.at_risk': 'SLA at risk',
  'sla.missed': 'SLA missed',
  'sla.task_overdue': 'Task past its maxDuration',
  'run.failed': 'Run failed',
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The message of an alert, the same in every channel. */
export function alertMessage(f: AlertFacts, runUrl: string | null): AlertMessage {
  const subject =
    f.type === 'sla.task_overdue' && f.taskKey ? `task ${f.taskKey} of job ${f.jobName}` : `job ${f.jobName}`;
  const lines: string[] = [];
  if (f.reason) lines.push(`Why: ${f.reason}`);
  if (f.logicalDate !== null) lines.push(`Logical date: ${iso(f.logicalDate)}`);
  if (f.finishBy !== null) lines.push(`Deadline: ${iso(f.finishBy)}`);
  if (f.predictedP90 !== null) lines.push(`Predicted finish (p90): ${iso(f.predictedP90)}`);
  if (f.keyTask) lines.push(`Key task: ${f.keyTask}`);
  if (f.maxDurationMs !== undefined && f.maxDurationMs !== null) lines.push(`maxDuration: ${f.maxDurationMs / 1000} s`);
  lines.push(`Run: ${runUrl ?? f.runId}`);
  return { title: `${TITLES[f.type]}: ${subject}`, lines };
}

/** Seconds to wait before delivery attempt `attempt` (1-based) after a failure: 5 s doubling, at most 10 min. */
export function alertRetryDelayMs(attempt: number): number {
  return Math.min(600_000, 5_000 * 2 ** Math.max(0, attempt - 1));
}

/** Delivery attempts before a delivery is given up (and shown failed in the history). */
export const ALERT_MAX_ATTEMPTS = 8;
