import { describe, expect, it } from 'vitest';
import { splitRows, unifiedLines } from '../src/lib/diff-rows';

// The Versions tab's diff: the unified lines, and the same lines side by side.
const show = (before: string, after: string) =>
  splitRows(unifiedLines(before, after)).map(
    (r) => `${r.left ? `${r.left.oldNo}:${r.left.text}` : '-'} | ${r.right ? `${r.right.newNo}:${r.right.text}` : '-'}`,
  );

describe('side-by-side diff rows', () => {
  it.each<[string, string, string, string[]]>([
    ['no change', 'a\nb\n', 'a\nb\n', ['1:a | 1:a', '2:b | 2:b']],
    ['a changed line faces its replacement', 'a\nb\nc\n', 'a\nB\nc\n', ['1:a | 1:a', '2:b | 2:B', '3:c | 3:c']],
    ['an added line faces a blank', 'a\nc\n', 'a\nb\nc\n', ['1:a | 1:a', '- | 2:b', '2:c | 3:c']],
    ['a removed line faces a blank', 'a\nb\nc\n', 'a\nc\n', ['1:a | 1:a', '2:b | -', '3:c | 2:c']],
    [
      'two lines replaced by three',
      'x\na\nb\ny\n',
      'x\n1\n2\n3\ny\n',
      ['1:x | 1:x', '2:a | 2:1', '3:b | 3:2', '- | 4:3', '4:y | 5:y'],
    ],
    ['everything new', '', 'a\nb\n', ['- | 1:a', '- | 2:b']],
  ])('%s', (_what, before, after, rows) => {
    expect(show(before, after)).toEqual(rows);
  });

  it('numbers the unified lines on both sides', () => {
    expect(unifiedLines('a\nb\n', 'a\nc\n')).toEqual([
      { kind: 'same', text: 'a', oldNo: 1, newNo: 1 },
      { kind: 'del', text: 'b', oldNo: 2, newNo: null },
      { kind: 'add', text: 'c', oldNo: null, newNo: 2 },
    ]);
  });
});
