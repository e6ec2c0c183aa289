import { describe, expect, it } from 'vitest';
import { ChildCpuMeter, reapedChildrenCpuMillis } from './cpu-time.js';

// /proc/self/stat: pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17) ...
const stat = (comm: string, cutime: number, cstime: number) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194304 100 0 0 0 7 3 ${cutime} ${cstime} 20 0 11 0 123 456 789`;

describe('reapedChildrenCpuMillis', () => {
  it.each<[string, string, number | null]>([
    ['user and system time of reaped children', stat('node', 12, 3), 150],
    ['a command name with spaces and parentheses', stat('baton agent (x)', 1, 1), 20],
    ['nothing reaped yet', stat('node', 0, 0), 0],
    ['not a stat line', 'garbage', null],
  ])('%s', (_name, line, ms) => {
    expect(reapedChildrenCpuMillis(() => line)).toBe(ms);
  });

  it('is null where there is no /proc', () => {
    expect(
      reapedChildrenCpuMillis(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });
});

describe('ChildCpuMeter', () => {
  it('gives each exit the CPU time reaped since the previous one', () => {
    const readings = [100, 130, 130, 400];
    const meter = new ChildCpuMeter(() => readings.shift() ?? null);
    expect([meter.take(), meter.take(), meter.take()]).toEqual([30, 0, 270]);
    // Not measurable any more: 0, never a negative or made-up number.
    expect(meter.take()).toBe(0);
  });
});
