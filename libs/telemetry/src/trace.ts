import { randomBytes } from 'node:crypto';

/**
 * W3C trace context (`traceparent: 00-<trace id>-<span id>-<flags>`), carried
 * from a trigger through the run, its events (Kafka headers) and each task's
 * assignment to the agent, which hands it to the task as TRACEPARENT.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isTraceparent(v: unknown): v is string {
  return typeof v === 'string' && TRACEPARENT.test(v) && !/^00-0{32}-/.test(v) && !/-0{16}-/.test(v);
}

/** A new trace: the root of a run's trace when nothing upstream sent one. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** A child span of `parent` (same trace, new span id), or a new trace when `parent` is not a traceparent. */
export function childTraceparent(parent: string | null | undefined): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  if (!m || !isTraceparent(parent)) return newTraceparent();
  return `00-${m[1]}-${randomBytes(8).toString('hex')}-${m[3]}`;
}

export function traceIdOf(traceparent: string | null | undefined): string | null {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  return m ? m[1]! : null;
}
