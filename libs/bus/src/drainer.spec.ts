import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Drainer } from './drainer.js';

describe('Drainer', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  const settle = () => vi.advanceTimersByTimeAsync(0);

  it('runs at once on a kick, one drain at a time, and once more for kicks that came meanwhile', async () => {
    let calls = 0;
    let release!: () => void;
    const d = new Drainer(
      () => {
        calls++;
        return new Promise<void>((r) => (release = r));
      },
      { intervalMs: 60_000, onError: () => undefined },
    );
    d.kick();
    d.kick();
    d.kick();
    await settle();
    expect(calls).toBe(1);
    release();
    await settle();
    expect(calls).toBe(2); // the two kicks during the first drain make one more
    release();
    await settle();
    expect(calls).toBe(2);
    await d.stop();
  });

  it.each<[string, () => Promise<boolean | void>, number]>([
    ['a drain that throws', () => Promise.reject(new Error('db down')), 1],
    ['a drain that answers false', () => Promise.resolve(false), 0],
  ])('tries %s again after a growing pause, reporting only throws', async (_what, fail, errors) => {
    const at: number[] = [];
    const seen: Array<[string, number]> = [];
    const d = new Drainer(
      () => {
        at.push(Date.now());
        return at.length <= 3 ? fail() : Promise.resolve();
      },
      { intervalMs: 60_000, onError: (err, n) => void seen.push([String(err), n]) },
    );
    const t0 = Date.now();
    d.kick();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at.map((t) => t - t0)).toEqual([0, 100, 300, 700]);
    expect(seen).toHaveLength(3 * errors);
    if (errors) expect(seen.map(([, n]) => n)).toEqual([1, 2, 3]);
    await d.stop();
  });

  it('drains on its safety interval once started, and not after stop', async () => {
    let calls = 0;
    const d = new Drainer(
      async () => {
        calls++;
      },
      { intervalMs: 1_000, onError: () => undefined },
    );
    d.start();
    await settle();
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toBe(4);
    await d.stop();
    d.kick();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toBe(4);
  });
});
