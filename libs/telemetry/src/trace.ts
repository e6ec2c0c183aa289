import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  defaultTextMapSetter,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator, parseTraceParent } from '@opentelemetry/core';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { tracing } from './state.js';

/**
 * W3C trace context through the OpenTelemetry API: what travels from a
 * trigger through the run, its events (Kafka headers) and each task's
 * assignment to the agent, which hands it to the task as TRACEPARENT.
 *
 * Spans that outlive a process's memory (a run, an attempt) are recorded
 * when they end, with span ids derived from the ids of their rows
 * (`spanIdOf`), so any replica can record them and their children can name
 * them as parent before they end: no tracing column, no extra statement.
 */
const w3c = new W3CTraceContextPropagator();
const ids = new RandomIdGenerator();

export { SpanKind };

/** The span context of a `traceparent` value, or null when it is not a valid version-00 one. */
export function parseTraceparent(v: unknown): SpanContext | null {
  if (typeof v !== 'string' || !v.startsWith('00-')) return null;
  const sc = parseTraceParent(v);
  return sc && isSpanContextValid(sc) ? sc : null;
}

/** The W3C `traceparent` of a span context (what the propagator injects), without building a context. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${((sc.traceFlags || TraceFlags.NONE) & 0xff).toString(16).padStart(2, '0')}`;
}

/** Injects the active context as W3C headers (`traceparent`, `tracestate`) into `carrier`. */
export function injectContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

export function isTraceparent(v: unknown): v is string {
  return parseTraceparent(v) !== null;
}

/** A new trace: the root of a run's trace when nothing upstream sent one. */
export function newTraceparent(): string {
  return formatTraceparent({
    traceId: ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags: TraceFlags.SAMPLED,
  });
}

/** A child span of `parent` (same trace, new span id), or a new trace when `parent` is not a traceparent. */
export function childTraceparent(parent: string | null | undefined): string {
  const sc = parseTraceparent(parent);
  if (!sc) return newTraceparent();
  return formatTraceparent({ traceId: sc.traceId, spanId: ids.generateSpanId(), traceFlags: sc.traceFlags });
}

export function traceIdOf(traceparent: string | null | undefined): string | null {
  return parseTraceparent(traceparent)?.traceId ?? null;
}

/** A span id from a row's UUIDv7 (its 62 random bits and variant): the span of a run or an attempt. */
export function spanIdOf(id: string): string {
  const hex = id.replace(/-/g, '').slice(16).toLowerCase();
  return /^[0-9a-f]{16}$/.test(hex) && hex !== '0000000000000000' ? hex : ids.generateSpanId();
}

/** The traceparent of the span `spanId` in the trace of `traceparent` (null when that is not one). */
export function spanTraceparent(traceparent: string | null | undefined, spanId: string): string | null {
  const sc = parseTraceparent(traceparent);
  return sc ? formatTraceparent({ traceId: sc.traceId, spanId, traceFlags: sc.traceFlags }) : null;
}

/** Whether this process exports spans (OTEL_TRACES_EXPORTER or an OTLP endpoint): off, nothing is built. */
export function tracingEnabled(): boolean {
  return tracing.tracer !== null;
}

/** The traceparent of the active span, or null (always null when tracing is off). */
export function currentTraceparent(): string | null {
  if (!tracing.tracer) return null;
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : null;
}

/** `{traceparent}` of the active span, for event headers; undefined when there is none. */
export function traceHeaders(): Record<string, string> | undefined {
  const tp = currentTraceparent();
  return tp ? { traceparent: tp } : undefined;
}

/** A context whose parent is `traceparent` (remote); the root context when it is not one. */
export function contextOf(traceparent: string | null | undefined): Context {
  const sc = parseTraceparent(traceparent);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, { ...sc, isRemote: true }) : ROOT_CONTEXT;
}

/** Runs `fn` in the context carried by an event's or request's headers (when tracing is on). */
export function withRemoteContext<T>(headers: Record<string, unknown> | undefined, fn: () => T): T {
  if (!tracing.tracer) return fn();
  const tp = headers?.['traceparent'];
  if (typeof tp !== 'string' || !isTraceparent(tp)) return fn();
  return context.with(contextOf(tp), fn);
}

export interface StartSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: a traceparent, a context, or (undefined) the active span. */
  parent?: string | null | Context;
  /** Epoch ms (default now). */
  startTime?: number;
}

function parentContext(parent: StartSpanOptions['parent']): Context {
  if (parent === undefined) return context.active();
  if (parent === null) return ROOT_CONTEXT;
  if (typeof parent === 'string') return isTraceparent(parent) ? contextOf(parent) : context.active();
  return parent;
}

/**
 * Runs `fn` inside a new span (a child of `opts.parent`, else the active
 * span), ending it when `fn` settles; an error marks it failed. With tracing
 * off `fn` runs alone and gets null: no span is built.
 */
export async function withSpan<T>(
  name: string,
  opts: StartSpanOptions,
  fn: (span: Span | null) => Promise<T>,
): Promise<T> {
  const tracer = tracing.tracer;
  if (!tracer) return fn(null);
  const parent = parentContext(opts.parent);
  const span = tracer.startSpan(
    name,
    {
      kind: opts.kind ?? SpanKind.INTERNAL,
      attributes: opts.attributes,
      startTime: opts.startTime !== undefined ? new Date(opts.startTime) : undefined,
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

export interface RecordedSpan {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent's traceparent; null: a root span. */
  parent: string | null;
  /** The span's own id (e.g. `spanIdOf(run.id)`), so children recorded earlier can name it. */
  spanId?: string;
  /** The trace id of a root span (`parent` null) whose id was handed out before. */
  traceId?: string;
  /** Epoch ms. */
  start: number;
  end: number;
  /** Marks the span failed with this message. */
  error?: string | null;
}

/**
 * Records a span that has already ended (a run, an attempt, a queue wait),
 * with its own times and, when given, its own span id. Nothing with tracing off.
 */
export function recordSpan(name: string, s: RecordedSpan): void {
  const tracer = tracing.tracer;
  if (!tracer) return;
  const parent = s.parent ? contextOf(s.parent) : ROOT_CONTEXT;
  if (s.spanId) tracing.ids.preset(s.spanId, s.traceId ?? null);
  let span: Span;
  try {
    span = tracer.startSpan(
      name,
      { kind: s.kind ?? SpanKind.INTERNAL, attributes: s.attributes, startTime: new Date(s.start) },
      parent,
    );
  } finally {
    tracing.ids.preset(null);
  }
  if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error });
  span.end(new Date(Math.max(s.end, s.start)));
}

/**
 * The traceparent a new run records: the context it was created in (its
 * parent: the caller's, a trigger's fire, an event's), or else the active
 * span's; with tracing on and neither, a root span for the creation itself.
 */
export function creationTraceparent(given: string | null | undefined, attributes?: Attributes): string {
  if (isTraceparent(given)) return given;
  const current = currentTraceparent();
  if (current) return current;
  const fresh = newTraceparent();
  if (tracing.tracer) {
    const now = Date.now();
    const sc = parseTraceparent(fresh)!;
    recordSpan('create run', {
      parent: null,
      spanId: sc.spanId,
      traceId: sc.traceId,
      start: now,
      end: now,
      attributes,
    });
  }
  return fresh;
}

/** The active span, to add attributes to (null with tracing off). */
export function activeSpan(): Span | null {
  if (!tracing.tracer) return null;
  return trace.getSpan(context.active()) ?? null;
}
