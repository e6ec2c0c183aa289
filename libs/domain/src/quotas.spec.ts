import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TASK_CPU_MILLIS,
  DEFAULT_TASK_MEMORY_MB,
  NO_QUOTAS,
  type QuotaLimits,
  type QuotaName,
  type RunBucket,
  exceeds,
  firstRefusal,
  quotaResources,
  refill,
  splitByDay,
  takeTokens,
  taskQuotaRefusal,
} from './quotas.js';

describe('exceeds', () => {
  it.each<[string, QuotaName, number | null, number, number, boolean]>([
    ['not limited', 'maxJobs', null, 1_000, 1, false],
    ['room for one more', 'maxJobs', 3, 2, 1, false],
    ['the N+1th', 'maxJobs', 3, 3, 1, true],
    ['a backfill as large as the quota', 'maxBackfillSize', 10, 0, 10, false],
    ['a backfill one slot larger', 'maxBackfillSize', 10, 0, 11, true],
    ['already over (quota lowered)', 'maxAgents', 1, 2, 1, true],
  ])('%s', (_name, quota, limit, used, asked, refused) => {
    const r = exceeds(quota, limit, used, asked);
    expect(r !== null).toBe(refused);
    if (r) {
      expect(r.quota).toBe(quota);
      expect(r.message).toContain(`quota ${quota} is ${limit}`);
    }
  });
});

describe('firstRefusal', () => {
  const limits: QuotaLimits = { ...NO_QUOTAS, maxJobs: 2, maxConcurrentRuns: 1 };
  it.each<[string, Array<{ quota: QuotaName; used: number; asked?: number }>, QuotaName | null]>([
    ['nothing asked', [], null],
    ['all fit', [{ quota: 'maxJobs', used: 1 }], null],
    ['an unlimited quota never refuses', [{ quota: 'maxAgents', used: 99 }], null],
    [
      'the first that refuses is named',
      [
        { quota: 'maxJobs', used: 0 },
        { quota: 'maxConcurrentRuns', used: 1 },
        { quota: 'maxJobs', used: 5 },
      ],
      'maxConcurrentRuns',
    ],
  ])('%s', (_name, checks, quota) => {
    expect(firstRefusal(limits, checks)?.quota ?? null).toBe(quota);
  });
});

describe('taskQuotaRefusal', () => {
  const limits = { maxRunningTasks: 3, maxCpuMillis: 1000, maxMemoryMb: 512 };
  const need = { cpuMillis: 250, memoryMb: 128 };
  it.each<[string, Partial<typeof limits>, { tasks: number; cpuMillis: number; memoryMb: number }, QuotaName | null]>([
    ['room on every count', {}, { tasks: 0, cpuMillis: 0, memoryMb: 0 }, null],
    ['tasks at the quota', {}, { tasks: 3, cpuMillis: 0, memoryMb: 0 }, 'maxRunningTasks'],
    ['CPU exactly fills', {}, { tasks: 1, cpuMillis: 750, memoryMb: 0 }, null],
    ['CPU one milli over', {}, { tasks: 1, cpuMillis: 751, memoryMb: 0 }, 'maxCpuMillis'],
    ['memory over', {}, { tasks: 1, cpuMillis: 0, memoryMb: 400 }, 'maxMemoryMb'],
    [
      'nothing limited',
      { maxRunningTasks: null as never, maxCpuMillis: null as never, maxMemoryMb: null as never },
      { tasks: 1e6, cpuMillis: 1e9, memoryMb: 1e9 },
      null,
    ],
  ])('%s', (_name, over, use, quota) => {
    expect(taskQuotaRefusal({ ...limits, ...over }, use, need)).toBe(quota);
  });

  it('counts the documented defaults for a task that declares nothing', () => {
    expect(quotaResources(undefined)).toEqual({ cpuMillis: DEFAULT_TASK_CPU_MILLIS, memoryMb: DEFAULT_TASK_MEMORY_MB });
    expect(quotaResources({ cpuMillis: 0, memoryMb: 0 })).toEqual({
      cpuMillis: DEFAULT_TASK_CPU_MILLIS,
      memoryMb: DEFAULT_TASK_MEMORY_MB,
    });
    expect(quotaResources({ cpuMillis: 2000, memoryMb: 64 })).toEqual({ cpuMillis: 2000, memoryMb: 64 });
  });
});

describe('run token bucket', () => {
  it.each<[string, RunBucket | null, number, number, number, number, number]>([
    // name, bucket, perMinute, now, wanted -> granted, retryAfterMs
    ['a new bucket is full', null, 5, 0, 5, 5, 0],
    ['a new bucket holds no more than the burst', null, 5, 0, 7, 5, 12_000],
    ['an empty bucket refuses, saying when the next token comes', { milliTokens: 0, at: 0 }, 60, 0, 1, 0, 1_000],
    ['half a token is not a token', { milliTokens: 500, at: 0 }, 60, 0, 1, 0, 500],
    ['an empty bucket refills over time', { milliTokens: 0, at: 0 }, 60, 3_000, 5, 3, 1_000],
    ['refill stops at the burst', { milliTokens: 0, at: 0 }, 2, 3_600_000, 5, 2, 30_000],
    ['a clock that went back refills nothing', { milliTokens: 0, at: 10_000 }, 60, 5_000, 1, 0, 1_000],
  ])('%s', (_name, bucket, perMinute, now, wanted, granted, retryAfterMs) => {
    const t = takeTokens(bucket, perMinute, now, wanted);
    expect([t.granted, t.retryAfterMs]).toEqual([granted, retryAfterMs]);
  });

  it('never grants more than perMinute in any minute, however it is asked', () => {
    let b: RunBucket | null = null;
    let granted = 0;
    for (let now = 0; now < 60_000; now += 250) {
      const t = takeTokens(b, 10, now, 1);
      b = t.bucket;
      granted += t.granted;
    }
    // The burst (10) plus what refilled over the minute (10, less the last fraction).
    expect(granted).toBeGreaterThanOrEqual(19);
    expect(granted).toBeLessThanOrEqual(20);
  });

  it('refill keeps the time it was last true', () => {
    expect(refill({ milliTokens: 0, at: 0 }, 60, 500)).toEqual({ milliTokens: 500, at: 500 });
  });
});

describe('splitByDay', () => {
  const D = 86_400_000;
  it.each<[string, number, number, Array<[number, number]>]>([
    ['nothing', 5, 5, []],
    ['within a day', D + 10, D + 70, [[D, 60]]],
    [
      'across midnight',
      D - 100,
      D + 50,
      [
        [0, 100],
        [D, 50],
      ],
    ],
    [
      'over a whole day',
      D / 2,
      2 * D + 1,
      [
        [0, D / 2],
        [D, D],
        [2 * D, 1],
      ],
    ],
  ])('%s', (_name, start, end, days) => {
    expect(splitByDay(start, end)).toEqual(days);
  });
});
