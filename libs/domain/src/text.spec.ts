import { describe, expect, it } from 'vitest';
import { truncateUtf8 } from './text.js';

describe('truncateUtf8', () => {
  it.each<[string, number, string]>([
    ['short', 10, 'short'],
    ['abcdef', 3, 'abc'],
    ['日本語', 4, '日'],
    ['日本語', 6, '日本'],
    ['', 0, ''],
  ])('%j to %d bytes -> %j', (text, max, want) => expect(truncateUtf8(text, max)).toBe(want));
});
