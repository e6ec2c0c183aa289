import { describe, expect, it } from 'vitest';
import { childTraceparent, isTraceparent, newTraceparent, traceIdOf } from './trace.js';

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
