import { formatDuration } from './duration.js';
import { type SlaSpec, formatWallTime } from './sla.js';
import {
  DEFAULT_BIZ_DATE_OFFSET_MS,
  DEFAULT_CATCH_UP_LIMIT,
  type JobDefinition,
  type TaskExecutionSpec,
  type TriggerDefinition,
} from './job-definition.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';

type Source = Record<string, unknown>;

const isEmpty = (o: object) => Object.keys(o).length === 0;
const iso = (ms: number) => new Date(ms).toISOString();

/** Sets `key` only when `value` differs from what the parser fills in. */
function put(out: Source, key: string, value: unknown, omitWhen: unknown = undefined): void {
  if (value === undefined || value === null) return;
  if (omitWhen !== undefined && JSON.stringify(value) === JSON.stringify(omitWhen)) return;
  out[key] = value;
}

function executionSource(t: TaskExecutionSpec, out: Source): void {
  out.type = t.type;
  put(out, 'command', t.command);
  if (t.script) {
    const s: Source = {};
    put(s, 'interpreter', t.script.interpreter, 'bash');
    s.body = t.script.body;
    out.script = s;
  }
  if (t.http) {
    const h: Source = {};
    put(h, 'method', t.http.method, 'GET');
    h.url = t.http.url;
    put(h, 'headers', t.http.headers, {});
    put(h, 'body', t.http.body);
    put(h, 'expectStatus', t.http.expectStatus, []);
    out.http = h;
  }
  if (t.sql) {
    const q: Source = { driver: t.sql.driver, url: t.sql.url, statement: t.sql.statement };
    put(q, 'params', t.sql.params, []);
    put(q, 'maxRows', t.sql.maxRows, 100);
    out.sql = q;
  }
  put(out, 'env', t.env, {});
  if (t.timeoutMs > 0) out.timeout = formatDuration(t.timeoutMs);
  const r = t.retry;
  const retry: Source = {};
  put(retry, 'maxAttempts', r.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts);
  put(retry, 'backoff', r.backoff, DEFAULT_RETRY_POLICY.backoff);
  if (r.delayMs !== DEFAULT_RETRY_POLICY.delayMs) retry.delay = formatDuration(r.delayMs);
  // Without maxDelay the parser takes the larger of the default cap and the delay.
  if (r.maxDelayMs !== Math.max(DEFAULT_RETRY_POLICY.maxDelayMs, r.delayMs))
    retry.maxDelay = formatDuration(r.maxDelayMs);
  put(retry, 'jitter', r.jitter, DEFAULT_RETRY_POLICY.jitter);
  put(retry, 'retryOn', r.retryOn, []);
  if (!isEmpty(retry)) out.retry = retry;
}

function triggerSource(tr: TriggerDefinition): Source {
  const out: Source = { type: tr.type };
  switch (tr.type) {
    case 'cron':
      out.cron = tr.cron;
      put(out, 'timezone', tr.timezone, 'UTC');
      break;
    case 'fixedRate':
      out.every = formatDuration(tr.everyMs);
      if (tr.startAt !== null) out.startAt = iso(tr.startAt);
      break;
    case 'fixedDelay':
      out.delay = formatDuration(tr.delayMs);
      break;
    case 'once':
      out.at = iso(tr.at);
      break;
    case 'webhook':
      put(out, 'params', tr.params, {});
      break;
    case 'dependency':
      out.jobs = tr.jobs;
      if (tr.withinMs !== null) out.within = formatDuration(tr.withinMs);
      break;
    case 'event':
      out.topic = tr.topic;
      put(out, 'filter', tr.filter);
      put(out, 'params', tr.params, {});
      put(out, 'dedupeKey', tr.dedupeKey);
      break;
    case 'file':
      out.path = tr.path;
      put(out, 'agentSelector', tr.agentSelector, {});
      break;
    default: {
      const unknown: never = tr;
      throw new Error(`unknown trigger ${JSON.stringify(unknown)}`);
    }
  }
  put(out, 'enabled', tr.enabled, true);
  // Only time triggers take a misfire policy.
  if (tr.type === 'cron' || tr.type === 'fixedRate' || tr.type === 'fixedDelay' || tr.type === 'once') {
    put(out, 'misfire', tr.misfire, 'fire_once');
    put(out, 'catchUpLimit', tr.catchUpLimit, DEFAULT_CATCH_UP_LIMIT);
  }
  put(out, 'overlap', tr.overlap, 'allow');
  return out;
}

/**
 * A stored (normalised) definition back in the form a person writes
 * (`PUT /api/v1/jobs/{name}`): durations as `30s`, instants as ISO text,
 * defaults left out. `parseJobDefinition` reads it back to the same definition,
 * so the portal can offer it for editing and diff versions as written.
 */
export function jobDefinitionSource(def: JobDefinition): Source {
  const out: Source = { name: def.name };
  put(out, 'description', def.description);
  put(out, 'params', def.params, {});
  if (def.maxActiveRuns !== null) out.maxActiveRuns = def.maxActiveRuns;
  if (def.maxActiveTasks !== null) out.maxActiveTasks = def.maxActiveTasks;
  if (def.bizDateOffsetMs !== DEFAULT_BIZ_DATE_OFFSET_MS) out.bizDateOffset = formatDuration(def.bizDateOffsetMs);
  if (def.sla) out.sla = slaSource(def.sla);
  if (def.triggers.length > 0) out.triggers = def.triggers.map(triggerSource);
  out.tasks = def.tasks.map((t) => {
    const execution: Source = {};
    executionSource(t, execution);
    // The order a person reads a task in: what it is, what it waits for, then how it runs.
    const { type, ...how } = execution;
    const task: Source = { key: t.key, type };
    put(task, 'dependsOn', t.dependsOn, []);
    Object.assign(task, how);
    put(task, 'triggerRule', t.triggerRule, 'all_success');
    put(task, 'when', t.when);
    put(task, 'priority', t.priority, 0);
    put(task, 'agentSelector', t.agentSelector, {});
    put(task, 'pool', t.pool);
    if (t.pool !== null) put(task, 'poolSlots', t.poolSlots, 1);
    put(task, 'idempotent', t.idempotent, false);
    put(task, 'retryOnLost', t.retryOnLost, false);
    if (t.maxDurationMs !== undefined) task.maxDuration = formatDuration(t.maxDurationMs);
    const res: Source = {};
    put(res, 'cpuMillis', t.resources.cpuMillis, 0);
    put(res, 'memoryMb', t.resources.memoryMb, 0);
    if (!isEmpty(res)) task.resources = res;
    if (t.compensate) {
      const c: Source = {};
      executionSource(t.compensate, c);
      task.compensate = c;
    }
    return task;
  });
  return out;
}

/** A stored SLA as written in a job definition (`finishBy`, `maxDuration`, ...). */
export function slaSource(sla: SlaSpec): Source {
  const out: Source = {};
  if (sla.finishBy) out.finishBy = formatWallTime(sla.finishBy);
  if (sla.startBy) out.startBy = formatWallTime(sla.startBy);
  if (sla.maxDurationMs !== null) out.maxDuration = formatDuration(sla.maxDurationMs);
  if (sla.warnBeforeMs !== 0) out.warnBefore = formatDuration(sla.warnBeforeMs);
  if (sla.timezone !== 'UTC') out.timezone = sla.timezone;
  return out;
}
