import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogChunk_Stream } from '@baton/proto';
import { LogBatcher } from './log-batcher.js';
import { Backoff } from './backoff.js';

describe('LogBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('flushes after 50 ms, at 32 KiB, and on a change of stream', () => {
    const out: Array<[LogChunk_Stream, string]> = [];
    const b = new LogBatcher((s, d) => out.push([s, d.toString()]));
    b.write(LogChunk_Stream.STDOUT, Buffer.from('a'));
    b.write(LogChunk_Stream.STDOUT, Buffer.from('b'));
    expect(out).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(out).toEqual([[LogChunk_Stream.STDOUT, 'ab']]);

    b.write(LogChunk_Stream.STDOUT, Buffer.from('c'));
    b.write(LogChunk_Stream.STDERR, Buffer.from('d'));
    expect(out.slice(1)).toEqual([[LogChunk_Stream.STDOUT, 'c']]);
    b.flush();
    expect(out.slice(2)).toEqual([[LogChunk_Stream.STDERR, 'd']]);

    b.write(LogChunk_Stream.STDOUT, Buffer.alloc(80 * 1024, 'x'));
    expect(out.slice(3).map(([, d]) => d.length)).toEqual([32 * 1024, 32 * 1024, 16 * 1024]);
  });
});

describe('Backoff', () => {
  it('grows exponentially up to the maximum, with jitter, and resets', () => {
    const b = new Backoff(100, 1000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const low = new Backoff(100, 1000, () => 0);
    expect(low.next()).toBe(50);
    expect(low.max()).toBe(500);
  });
});
