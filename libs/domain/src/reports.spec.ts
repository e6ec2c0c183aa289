import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  type JobDayCounts,
  type RangeProblem,
  dayLabel,
  heatmap,
  jobDayReports,
  jobRangeReports,
  percentileRank,
  rate,
  reportRange,
  topFailingTasks,
} from './reports.js';
import { percentile } from './sla.js';

const at = (iso: string) => Date.parse(iso);
const NOW = at('2026-12-01T16:30:00Z');

describe('the range of a report', () => {
  it.each<[string, { from?: string; to?: string }, { from: string; to: string } | RangeProblem[]]>([
    [
      'the last 30 days to the end of today by default',
      {},
      { from: '2026-11-02T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
    ],
    [
      'dates are midnight UTC',
      { from: '2026-11-01', to: '2026-11-08' },
      { from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' },
    ],
    [
      'instants keep their zone',
      { from: '2026-11-01T08:00:00+08:00', to: '2026-11-02' },
      { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' },
    ],
    [
      'from alone runs 30 days',
      { from: '2026-10-01' },
      { from: '2026-10-01T00:00:00.000Z', to: '2026-10-31T00:00:00.000Z' },
    ],
    [
      'to alone starts 30 days before',
      { to: '2026-10-31' },
      { from: '2026-10-01T00:00:00.000Z', to: '2026-10-31T00:00:00.000Z' },
    ],
    [
      '92 days is the most',
      { from: '2026-09-01', to: '2026-12-02' },
      { from: '2026-09-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
    ],
    [
      '93 days is too many',
      { from: '2026-09-01', to: '2026-12-03' },
      [{ field: 'to', message: 'must be at most 92 days after from' }],
    ],
    [
      'to must come after from',
      { from: '2026-11-02', to: '2026-11-02' },
      [{ field: 'to', message: 'must be after from' }],
    ],
    [
      'a bad from is named',
      { from: 'yesterday', to: '2026-11-02' },
      [{ field: 'from', message: 'must be an ISO date (2026-11-01) or an instant with a zone' }],
    ],
    [
      'an instant without a zone is refused',
      { to: '2026-11-02T10:00:00' },
      [{ field: 'to', message: 'must be an ISO date (2026-11-01) or an instant with a zone' }],
    ],
    [
      'both bad: both named',
      { from: 'x', to: '2026-02-30' },
      [
        { field: 'from', message: 'must be an ISO date (2026-11-01) or an instant with a zone' },
        { field: 'to', message: 'must be an ISO date (2026-11-01) or an instant with a zone' },
      ],
    ],
  ])('%s', (_, q, want) => {
    const r = reportRange(q, NOW);
    if (Array.isArray(want)) expect(r).toEqual({ problems: want });
    else expect(r).toEqual({ range: { from: at(want.from), to: at(want.to) } });
  });
});

describe('nearest-rank percentiles', () => {
  it.each<[number, number, number]>([
    [0, 50, 0],
    [1, 50, 1],
    [1, 95, 1],
    [2, 50, 1],
    [2, 95, 2],
    [4, 50, 2],
    [5, 50, 3],
    [10, 95, 10],
    [20, 95, 19],
    [21, 95, 20],
    [100, 50, 50],
    [100, 95, 95],
    [7, 0, 1],
    [7, 100, 7],
  ])('among %i values, p%i is rank %i', (n, p, rank) => {
    expect(percentileRank(n, p)).toBe(rank);
  });

  it('picks the same value as percentile() in code', () => {
    for (let n = 1; n <= 50; n++) {
      const values = Array.from({ length: n }, (_, i) => (i + 1) * 10);
      for (const p of [50, 90, 95]) expect(values[percentileRank(n, p) - 1]).toBe(percentile(values, p));
    }
  });
});

describe('rates', () => {
  it.each<[number, number, number | null]>([
    [0, 0, null],
    [3, 4, 0.75],
    [2, 3, 0.6667],
    [0, 5, 0],
    [5, 5, 1],
  ])('%i of %i is %s', (part, whole, want) => {
    expect(rate(part, whole)).toBe(want);
  });
});

describe('per job and day', () => {
  const day = Math.floor(at('2026-11-03T05:00:00Z') / DAY_MS);
  const counts: JobDayCounts[] = [
    { job: 'load', day: day + 1, runs: 2, succeeded: 2, failed: 0, cancelled: 0 },
    { job: 'load', day, runs: 4, succeeded: 2, failed: 1, cancelled: 1 },
    { job: 'etl', day, runs: 1, succeeded: 0, failed: 0, cancelled: 1 },
  ];

  it('joins counts, retries, SLA outcomes and percentiles, by job then day', () => {
    const rows = jobDayReports(
      counts,
      [{ job: 'load', day, retries: 3 }],
      [{ job: 'load', day, met: 1, missed: 3 }],
      [
        { job: 'load', day, metric: 'runtime', p: 50, value: 1_000 },
        { job: 'load', day, metric: 'runtime', p: 95, value: 4_000 },
        { job: 'load', day, metric: 'delay', p: 50, value: 20 },
      ],
    );
    expect(rows.map((r) => [r.job, r.day])).toEqual([
      ['etl', '2026-11-03'],
      ['load', '2026-11-03'],
      ['load', '2026-11-04'],
    ]);
    expect(rows[1]).toEqual({
      job: 'load',
      day: '2026-11-03',
      runs: 4,
      succeeded: 2,
      failed: 1,
      cancelled: 1,
      successRate: 0.6667,
      runtimeMs: { p50: 1_000, p95: 4_000 },
      delayMs: { p50: 20, p95: null },
      retries: 3,
      slaMet: 1,
      slaMissed: 3,
      slaMetRate: 0.25,
    });
    // Nothing finished but a cancelled run: no rate, not 0 %.
    expect(rows[0]).toMatchObject({
      successRate: null,
      retries: 0,
      slaMetRate: null,
      runtimeMs: { p50: null, p95: null },
    });
  });

  it('sums the days of each job over the range, with the range’s own percentiles', () => {
    const rows = jobRangeReports(
      counts,
      [
        { job: 'load', day, retries: 3 },
        { job: 'load', day: day + 1, retries: 1 },
      ],
      [
        { job: 'load', day, met: 1, missed: 1 },
        { job: 'load', day: day + 1, met: 2, missed: 0 },
      ],
      [{ job: 'load', day: 0, metric: 'runtime', p: 95, value: 4_000 }],
    );
    expect(rows).toEqual([
      expect.objectContaining({ job: 'etl', runs: 1, successRate: null }),
      {
        job: 'load',
        runs: 6,
        succeeded: 4,
        failed: 1,
        cancelled: 1,
        successRate: 0.8,
        runtimeMs: { p50: null, p95: 4_000 },
        delayMs: { p50: null, p95: null },
        retries: 4,
        slaMet: 3,
        slaMissed: 1,
        slaMetRate: 0.75,
      },
    ]);
  });

  it('labels days in UTC', () => {
    expect(dayLabel(0)).toBe('1970-01-01');
    expect(dayLabel(day)).toBe('2026-11-03');
  });
});

describe('the failure heatmap', () => {
  it('gives every job 24 hours, zero where nothing ran, jobs by name', () => {
    const h = heatmap([
      { job: 'b', hour: 3, runs: 4, failures: 2 },
      { job: 'a', hour: 23, runs: 1, failures: 1 },
      { job: 'b', hour: 0, runs: 2, failures: 0 },
    ]);
    expect(h.hours).toHaveLength(24);
    expect(h.jobs.map((j) => j.job)).toEqual(['a', 'b']);
    expect(h.jobs[1]!.failures[3]).toBe(2);
    expect(h.jobs[1]!.runs.slice(0, 4)).toEqual([2, 0, 0, 4]);
    expect(h.jobs[1]!.totalFailures).toBe(2);
    expect(h.jobs[0]!.failures[23]).toBe(1);
    expect(h.maxFailures).toBe(2);
  });

  it('is empty with no runs', () => {
    expect(heatmap([])).toMatchObject({ jobs: [], maxFailures: 0 });
  });
});

describe('top failing tasks', () => {
  it('ranks by failures, then failure rate, then name, leaving out tasks that never failed', () => {
    const rows = topFailingTasks(
      [
        { job: 'a', task: 'never', runs: 10, failed: 0, attempts: 12 },
        { job: 'a', task: 'often', runs: 10, failed: 4, attempts: 15 },
        { job: 'b', task: 'rare', runs: 100, failed: 4, attempts: 100 },
        { job: 'b', task: 'load', runs: 2, failed: 1, attempts: 2 },
        { job: 'a', task: 'load', runs: 2, failed: 1, attempts: 2 },
      ],
      3,
    );
    expect(rows.map((r) => [r.job, r.task, r.failureRate, r.retries])).toEqual([
      ['a', 'often', 0.4, 5],
      ['b', 'rare', 0.04, 0],
      ['a', 'load', 0.5, 0],
    ]);
  });
});
