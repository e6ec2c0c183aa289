import { type Attributes, SpanStatusCode } from '@opentelemetry/api';
import { tracing } from './state.js';
import {
  SpanKind,
  childTraceparent,
  contextOf,
  formatTraceparent,
  isTraceparent,
  newTraceparent,
  parseTraceparent,
  recordSpan,
  spanIdOf,
  spanTraceparent,
} from './trace.js';

/**
 * Baton's spans, named and attributed after OpenTelemetry's CI/CD semantic
 * conventions (a job is a pipeline, a task a task, an agent a worker) plus
 * `baton.*`. Each helper does nothing (and builds nothing) with tracing off.
 *
 * The trace of a run: what created it (an HTTP call, a trigger's fire, an
 * event) -> `RUN <job>` -> per attempt `<task>` (children: `queue wait`,
 * `dispatch`, and the agent's `execute <task>`).
 */

/** `cicd.pipeline.result` / `cicd.pipeline.task.run.result` of a Baton state. */
export function cicdResult(state: string): string {
  switch (state) {
    case 'succeeded':
      return 'success';
    case 'failed':
    case 'upstream_failed':
      return 'failure';
    case 'timed_out':
      return 'timeout';
    case 'cancelled':
      return 'cancellation';
    case 'skipped':
      return 'skip';
    default:
      return 'error';
  }
}

export interface RunLike {
  id: string;
  tenantId: string;
  jobName: string;
  /** The context the run was created in (its span's parent). */
  traceparent: string | null;
}

/** The traceparent of a run's own span (`RUN <job>`), for its events' headers and its attempts. */
export function runTraceparent(run: RunLike): string | null {
  return spanTraceparent(run.traceparent, spanIdOf(run.id));
}

/**
 * The traceparent an attempt's Assign carries: the attempt's span, a child of
 * the run's. With tracing off, as before: a child of the run's context.
 */
export function attemptTraceparent(run: RunLike, attemptId: string): string {
  if (!tracing.tracer) return childTraceparent(run.traceparent);
  return spanTraceparent(run.traceparent, spanIdOf(attemptId)) ?? childTraceparent(run.traceparent);
}

/** A trigger's fire: a short span whose context becomes the parent of the run it requests (undefined: tracing off). */
export function triggerFireTraceparent(
  tenantId: string,
  jobName: string,
  triggerId: string,
  type: string,
  slot: number,
): string | undefined {
  if (!tracing.tracer) return undefined;
  const t = { tenantId, jobName, triggerId, type, slot };
  const tp = newTraceparent();
  const sc = parseTraceparent(tp)!;
  const now = Date.now();
  recordSpan(`fire ${t.jobName}`, {
    kind: SpanKind.PRODUCER,
    parent: null,
    spanId: sc.spanId,
    traceId: sc.traceId,
    start: now,
    end: now,
    attributes: {
      'cicd.pipeline.name': t.jobName,
      'baton.tenant': t.tenantId,
      'baton.trigger.id': t.triggerId,
      'baton.trigger.type': t.type,
      'baton.logical_date': new Date(t.slot).toISOString(),
    },
  });
  return tp;
}

/** `RUN <job>`: from the run's creation to its end. */
export function recordRunSpan(
  run: RunLike & { createdAt: number; triggerType: string; logicalDate: number },
  state: string,
  end: number,
): void {
  if (!tracing.tracer || !run.traceparent) return;
  recordSpan(`RUN ${run.jobName}`, {
    kind: SpanKind.SERVER,
    parent: run.traceparent,
    spanId: spanIdOf(run.id),
    start: run.createdAt,
    end,
    error: state === 'succeeded' ? null : `run ${state}`,
    attributes: {
      'cicd.pipeline.action.name': 'RUN',
      'cicd.pipeline.name': run.jobName,
      'cicd.pipeline.run.id': run.id,
      'cicd.pipeline.result': cicdResult(state),
      'baton.tenant': run.tenantId,
      'baton.run': run.id,
      'baton.trigger.type': run.triggerType,
      'baton.logical_date': new Date(run.logicalDate).toISOString(),
    },
  });
}

export interface AttemptLike {
  id: string;
  taskKey: string;
  number: number;
  agentId: string | null;
}

function attemptAttributes(run: RunLike, a: AttemptLike): Attributes {
  return {
    'cicd.pipeline.name': run.jobName,
    'cicd.pipeline.run.id': run.id,
    'cicd.pipeline.task.name': a.taskKey,
    'cicd.pipeline.task.run.id': a.id,
    'baton.tenant': run.tenantId,
    'baton.run': run.id,
    'baton.attempt': a.number,
    ...(a.agentId ? { 'cicd.worker.id': a.agentId } : {}),
  };
}

/** What dispatch knows of an attempt it placed: `queue wait` and `dispatch`, children of the attempt's span. */
export function recordDispatchSpans(
  run: RunLike,
  a: AttemptLike,
  queuedAt: number | null,
  claimedAt: number,
  sentAt: number,
): void {
  if (!tracing.tracer) return;
  const parent = spanTraceparent(run.traceparent, spanIdOf(a.id));
  if (!parent) return;
  const attributes = attemptAttributes(run, a);
  if (queuedAt !== null) recordSpan('queue wait', { parent, start: queuedAt, end: claimedAt, attributes });
  recordSpan('dispatch', { parent, start: claimedAt, end: sentAt, attributes });
  rememberQueuedAt(a.id, queuedAt ?? claimedAt);
}

// When each attempt's task was queued, until the attempt ends on this replica (its span starts there).
const queuedAtOf = new Map<string, number>();
const MAX_REMEMBERED = 100_000;

function rememberQueuedAt(attemptId: string, at: number): void {
  if (queuedAtOf.size >= MAX_REMEMBERED) queuedAtOf.clear();
  queuedAtOf.set(attemptId, at);
}

/** `<task>`: one attempt, from its task's queueing (or its assignment, seen from another replica) to its end. */
export function recordAttemptSpan(
  run: RunLike,
  a: AttemptLike & { assignedAt: number | null },
  state: string,
  end: number,
  error: string | null,
): void {
  if (!tracing.tracer) return;
  const parent = runTraceparent(run);
  if (!parent) return;
  const start = queuedAtOf.get(a.id) ?? a.assignedAt ?? end;
  queuedAtOf.delete(a.id);
  recordSpan(a.taskKey, {
    kind: SpanKind.INTERNAL,
    parent,
    spanId: spanIdOf(a.id),
    start,
    end,
    error: state === 'succeeded' ? null : (error ?? state),
    attributes: { ...attemptAttributes(run, a), 'cicd.pipeline.task.run.result': cicdResult(state) },
  });
}

export interface ExecutionSpan {
  /** The span's traceparent: what the task gets as TRACEPARENT. */
  traceparent: string;
  end(state: string, exitCode: number, error: string): void;
}

/**
 * `execute <task>` on the agent, a child of the attempt's span named in
 * `Assign.trace_context`; null with tracing off (or no context in the Assign).
 */
export function startExecutionSpan(
  traceparent: string | undefined,
  a: { attemptId: string; runId: string; taskKey: string; attemptNumber: number; type: string; agent: string },
): ExecutionSpan | null {
  const tracer = tracing.tracer;
  if (!tracer || !isTraceparent(traceparent)) return null;
  const span = tracer.startSpan(
    `execute ${a.taskKey}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'cicd.pipeline.run.id': a.runId,
        'cicd.pipeline.task.name': a.taskKey,
        'cicd.pipeline.task.run.id': a.attemptId,
        'cicd.worker.name': a.agent,
        'baton.run': a.runId,
        'baton.attempt': a.attemptNumber,
        'baton.task.type': a.type,
      },
    },
    contextOf(traceparent),
  );
  return {
    traceparent: formatTraceparent(span.spanContext()),
    end: (state, exitCode, error) => {
      span.setAttribute('cicd.pipeline.task.run.result', cicdResult(state));
      span.setAttribute('process.exit.code', exitCode);
      if (state !== 'succeeded') span.setStatus({ code: SpanStatusCode.ERROR, message: error || state });
      span.end();
    },
  };
}

/** Headers of a run's events: its span's context (Kafka headers carry it to consumers). */
export function runEventHeaders(run: RunLike): Record<string, string> | undefined {
  if (!tracing.tracer) return run.traceparent ? { traceparent: run.traceparent } : undefined;
  const tp = runTraceparent(run);
  return tp ? { traceparent: tp } : undefined;
}
