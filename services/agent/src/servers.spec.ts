import { describe, expect, it } from 'vitest';
import { firstServerIndex } from './servers.js';

describe('firstServerIndex', () => {
  it.each<[string, number, number]>([
    ['agent-1', 0, 0],
    ['agent-1', 1, 0],
    ['', 3, firstServerIndex('', 3)],
  ])('%s over %i servers starts at %i', (name, n, want) => {
    expect(firstServerIndex(name, n)).toBe(want);
  });

  it('is stable for a name and within the list', () => {
    for (const n of [2, 3, 5]) {
      for (let i = 0; i < 50; i++) {
        const k = firstServerIndex(`host-${i}`, n);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(k).toBeLessThan(n);
        expect(firstServerIndex(`host-${i}`, n)).toBe(k);
      }
    }
  });

  it('spreads a fleet with one list over every replica, evenly within a few agents', () => {
    for (const n of [2, 3]) {
      const per = new Array<number>(n).fill(0);
      for (let i = 0; i < 300; i++) per[firstServerIndex(`agent-${i}`, n)]!++;
      for (const count of per) expect(count).toBeGreaterThan(300 / n - 40);
    }
  });
});
