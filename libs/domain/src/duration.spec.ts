import { describe, expect, it } from 'vitest';

import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each<[string | number, number | null]>([
    [10, 10_000],
    [0, 0],
    [1.5, 1_500],
    ['10', 10_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    ['1m30s250ms', 90_250],
    [' 10s ', 10_000],
    [-1, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    ['', null],
    ['-5s', null],
    ['10x', null],
    ['s', null],
    ['1h30', null],
    ['ten seconds', null],
  ])('%j -> %j', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [500, '500ms'],
    [10_000, '10s'],
    [5_400_000, '1h30m'],
    [172_800_000, '2d'],
    [90_061_001, '1d1h1m1s1ms'],
  ])('%d -> %s and back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
