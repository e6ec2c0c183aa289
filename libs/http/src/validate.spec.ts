import { describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH, checkBodyDepth, nestsDeeperThan } from './validate.js';
import { ProblemException } from './problem.js';

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { v };
  return v;
};

describe('nestsDeeperThan', () => {
  it.each<[string, unknown, number, boolean]>([
    ['a scalar', 'x', 1, false],
    ['null', null, 1, false],
    ['an empty object is one level', {}, 1, false],
    ['one level over', { a: {} }, 1, true],
    ['arrays count as levels', [[[]]], 2, true],
    ['exactly at the limit', nested(64), 64, false],
    ['one past the limit', nested(65), 64, true],
    ['wide but shallow', { a: Array.from({ length: 10_000 }, () => ({ b: 1 })) }, 3, false],
    ['far deeper than the call stack', nested(200_000), 64, true],
  ])('%s', (_name, value, max, expected) => {
    expect(nestsDeeperThan(value, max)).toBe(expected);
  });
});

describe('checkBodyDepth', () => {
  it('answers 400 naming the body', () => {
    expect(() => checkBodyDepth(nested(MAX_BODY_DEPTH))).not.toThrow();
    try {
      checkBodyDepth(nested(MAX_BODY_DEPTH + 1));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProblemException);
      expect((e as ProblemException).status).toBe(400);
      expect((e as ProblemException).errors).toEqual([
        { path: '(body)', message: 'nests objects and arrays more than 64 levels deep' },
      ]);
    }
  });
});
