import { describe, expect, it } from 'vitest';
import { StreamMasker } from './masker.js';

/** Feeds the chunks through one masker and returns everything it let out. */
function run(values: string[], chunks: string[]): string {
  const m = new StreamMasker(values);
  const out = chunks.map((c) => m.push(Buffer.from(c, 'utf8')));
  out.push(m.end());
  return Buffer.concat(out).toString('utf8');
}

describe('StreamMasker', () => {
  it.each([
    { name: 'no secrets: output unchanged', values: [], chunks: ['hello ', 'world'], want: 'hello world' },
    { name: 'a value inside one chunk', values: ['hunter2'], chunks: ['pw=hunter2!'], want: 'pw=***!' },
    { name: 'every occurrence', values: ['abc'], chunks: ['abc abc', ' abc'], want: '*** *** ***' },
    { name: 'a value split across two chunks', values: ['hunter2'], chunks: ['pw=hunt', 'er2 ok'], want: 'pw=*** ok' },
    {
      name: 'a value split across many one-byte chunks',
      values: ['s3cr3t'],
      chunks: [...'x s3cr3t y'],
      want: 'x *** y',
    },
    { name: 'a value at the very end of the stream', values: ['tail'], chunks: ['the ', 'ta', 'il'], want: 'the ***' },
    {
      name: 'a prefix of a value that never completes is let out',
      values: ['hunter2'],
      chunks: ['hunt', 'ing'],
      want: 'hunting',
    },
    {
      name: 'the longest of overlapping values wins',
      values: ['pass', 'password1'],
      chunks: ['password1 pass'],
      want: '*** ***',
    },
    { name: 'two different values', values: ['alpha', 'beta'], chunks: ['al', 'pha-be', 'ta'], want: '***-***' },
    {
      name: 'multi-byte UTF-8 split inside a character',
      values: ['pässwörd'],
      chunks: ['[pä', 'ssw', 'örd]'],
      want: '[***]',
    },
    { name: 'empty values are ignored', values: ['', 'k'], chunks: ['kite'], want: '***ite' },
    {
      name: 'repeated value back to back across chunks',
      values: ['ab'],
      chunks: ['aba', 'bab', 'a'],
      want: '*********a',
    },
  ])('$name', ({ values, chunks, want }) => {
    expect(run(values, chunks)).toBe(want);
  });

  it('holds back no more than the longest value minus one byte', () => {
    const m = new StreamMasker(['12345']);
    expect(m.push(Buffer.from('abcdefgh')).toString()).toBe('abcd');
    expect(m.end().toString()).toBe('efgh');
  });

  it('splits a value across chunks at every position', () => {
    const value = 'Canary-XYZ-987';
    const text = `before ${value} after`;
    for (let cut = 1; cut < text.length; cut++) {
      expect(run([value], [text.slice(0, cut), text.slice(cut)])).toBe('before *** after');
    }
  });
});
