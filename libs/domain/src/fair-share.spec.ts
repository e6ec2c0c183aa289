import { describe, expect, it } from 'vitest';
import { type Contender, fairShares, jainIndex } from './fair-share.js';

const c = (id: string, demand: number, weight = 1): Contender => ({ id, weight, demand });
const shares = (budget: number, cs: Contender[], credit = new Map<string, number>()) =>
  Object.fromEntries(fairShares(budget, cs, credit));

describe('fairShares', () => {
  it.each<[string, number, Contender[], Record<string, number>]>([
    ['equal weights split evenly', 100, [c('a', 10_000), c('b', 10_000)], { a: 50, b: 50 }],
    [
      'a small tenant gets all it asks; the rest goes to the flood',
      100,
      [c('a', 10_000), c('b', 10)],
      { a: 90, b: 10 },
    ],
    ['weights are honoured', 100, [c('a', 1_000, 3), c('b', 1_000, 1)], { a: 75, b: 25 }],
    ['no demand, no share', 10, [c('a', 0), c('b', 4)], { a: 0, b: 4 }],
    ['the budget is never exceeded', 7, [c('a', 5), c('b', 5), c('c', 5)], { a: 3, b: 2, c: 2 }],
    ['demand below the budget is met in full', 100, [c('a', 3), c('b', 4)], { a: 3, b: 4 }],
    ['nothing to give', 0, [c('a', 3)], { a: 0 }],
  ])('%s', (_name, budget, cs, want) => {
    const got = shares(budget, cs);
    expect(got).toEqual(want);
    expect(Object.values(got).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
  });

  it('carries fractions so that batches of one honour the weights over time', () => {
    const credit = new Map<string, number>();
    const total = { a: 0, b: 0 };
    for (let i = 0; i < 400; i++) {
      const got = fairShares(1, [c('a', 100, 3), c('b', 100, 1)], credit);
      total.a += got.get('a')!;
      total.b += got.get('b')!;
    }
    expect(total).toEqual({ a: 300, b: 100 });
  });

  it('keeps equal-weight tenants under saturation fair (Jain index ≥ 0.95)', () => {
    const credit = new Map<string, number>();
    const total = [0, 0, 0];
    for (let i = 0; i < 100; i++) {
      const got = fairShares(7, [c('a', 1_000), c('b', 1_000), c('c', 1_000)], credit);
      total[0] += got.get('a')!;
      total[1] += got.get('b')!;
      total[2] += got.get('c')!;
    }
    expect(jainIndex(total)).toBeGreaterThanOrEqual(0.99);
  });
});

describe('jainIndex', () => {
  it.each<[number[], number]>([
    [[5, 5, 5, 5], 1],
    [[10, 0], 0.5],
    [[0, 0], 1],
  ])('%j -> %d', (xs, want) => expect(jainIndex(xs)).toBeCloseTo(want, 6));
});
