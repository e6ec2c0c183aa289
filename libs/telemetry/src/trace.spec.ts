import { describe, expect, it } from 'vitest';
import { attemptTraceparent, runEventHeaders, triggerFireTraceparent } from './spans.js';
import {
  childTraceparent,
  creationTraceparent,
  currentTraceparent,
  isTraceparent,
  newTraceparent,
  spanIdOf,
  traceIdOf,
  tracingEnabled,
  withSpan,
} from './trace.js';

describe('trace context', () => {
  it.each([
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', true],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', false],
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', false],
    ['garbage', false],
  ])('%s is valid: %s', (v, ok) => {
    expect(isTraceparent(v)).toBe(ok);
  });

  it('keeps the trace id in a child and starts a new trace without a parent', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const child = childTraceparent(parent);
    expect(isTraceparent(child)).toBe(true);
    expect(traceIdOf(child)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child).not.toBe(parent);
    expect(traceIdOf(childTraceparent(null))).not.toBe(traceIdOf(childTraceparent(null)));
    expect(isTraceparent(newTraceparent())).toBe(true);
  });
});

describe('with tracing off (no OTEL_* exporter)', () => {
  it('builds no span and keeps the trace context as before', async () => {
    expect(tracingEnabled()).toBe(false);
    expect(await withSpan('x', {}, async (span) => span)).toBeNull();
    expect(currentTraceparent()).toBeNull();
    expect(triggerFireTraceparent('t', 'job', 'trigger', 'cron', 0)).toBeUndefined();
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(creationTraceparent(parent)).toBe(parent);
    const run = { id: '01a20d06-9f87-7550-811f-c107f499215b', tenantId: 't', jobName: 'j', traceparent: parent };
    expect(traceIdOf(attemptTraceparent(run, '01a20d06-9f87-7550-911f-c107f4992100'))).toBe(traceIdOf(parent));
    expect(runEventHeaders(run)).toEqual({ traceparent: parent });
  });

  it.each([
    ['01a20d06-9f87-7550-811f-c107f499215b', '811fc107f499215b'],
    ['01A20D06-9F87-7550-811F-C107F499215B', '811fc107f499215b'],
  ])('derives the span id of row %s', (id, span) => {
    expect(spanIdOf(id)).toBe(span);
  });
});
