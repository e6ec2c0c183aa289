import { describe, expect, it } from 'vitest';
import { collectList, formatDuration } from './alert-config.js';

describe('alert-rule flags', () => {
  it.each<[string[], string[]]>([
    [['run_failed'], ['run_failed']],
    [['run_failed,task_failed'], ['run_failed', 'task_failed']],
    [
      ['run_failed, task_failed', 'sla_missed'],
      ['run_failed', 'task_failed', 'sla_missed'],
    ],
    [['a,,b,'], ['a', 'b']],
  ])('collects %j into %j (comma-separated or repeated)', (flags, list) => {
    expect(flags.reduce<string[]>((prev, v) => collectList(v, prev), [])).toEqual(list);
  });

  it.each<[number, string]>([
    [0, '-'],
    [1_000, '1s'],
    [600_000, '10m'],
    [5_400_000, '1h30m'],
    [90_500, '1m30s500ms'],
  ])('shows %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
